#!/usr/bin/env node
// A long run of the ELF fuzzer (spec/hostile/elf-fuzz.ts; `npm test` runs a bounded one):
//   node scripts/fuzz-elf.js [--count N] [--seconds S] [--seed N] [--slow-ms MS] [--out DIR] [ELF files...]
// Prints the outcome counts and the slowest parse; saves each finding (an exception that is not
// an ELF_* SidebundleError, or a parse slower than --slow-ms) to DIR as <base>-<seed>-<n>.elf with
// a .json beside it naming the base and the mutations. If a parse hangs, it is in DIR/current-<base number>.elf.
// The TypeScript sources are compiled in memory with the project's own typescript.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};

const usage = 'usage: node scripts/fuzz-elf.js [--count N] [--seconds S] [--seed N] [--slow-ms MS] [--out DIR] [ELF files...]';
const defaults = ['/usr/bin/jq', '/bin/ls', '/usr/bin/python3', '/usr/lib/x86_64-linux-gnu/libstdc++.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'];

function parseArgs(argv) {
  const options = { count: Infinity, seconds: undefined, seed: Date.now() % 2147483647, slowMs: 1000, out: 'fuzz-findings', files: [] };
  const numbers = { '--count': 'count', '--seconds': 'seconds', '--seed': 'seed', '--slow-ms': 'slowMs' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    } else if (arg in numbers) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0) throw new Error(`${arg} needs a number\n${usage}`);
      options[numbers[arg]] = value;
    } else if (arg === '--out') options.out = argv[++i];
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}\n${usage}`);
    else options.files.push(arg);
  }
  if (options.count === Infinity && options.seconds === undefined) options.seconds = 60;
  if (options.files.length === 0) options.files = defaults.filter((f) => fs.existsSync(f));
  return options;
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const { fuzzElf } = require('../spec/hostile/elf-fuzz.ts');
  const out = path.resolve(options.out);
  fs.mkdirSync(out, { recursive: true });
  const bases = options.files.map((file) => ({ path: file, bytes: fs.readFileSync(file) }));
  console.log(`seed ${options.seed}, ${bases.length} bases (${options.files.join(', ')}), ` +
    `${options.count === Infinity ? 'no count limit' : `${options.count} mutants`}, ${options.seconds === undefined ? 'no time limit' : `${options.seconds} s`}`);
  const stats = fuzzElf({
    bases,
    seed: options.seed,
    count: options.count,
    seconds: options.seconds,
    slowMs: options.slowMs,
    workDir: out,
    onFinding(finding) {
      const name = `${path.basename(finding.base)}-${finding.seed}-${finding.iteration}`;
      fs.writeFileSync(path.join(out, `${name}.elf`), finding.bytes);
      const { bytes, ...rest } = finding;
      fs.writeFileSync(path.join(out, `${name}.json`), `${JSON.stringify(rest, null, 2)}\n`);
      console.log(`finding: ${path.join(out, `${name}.elf`)}: ${finding.outcome}`);
    },
  });
  for (const file of fs.readdirSync(out)) if (/^current-\d+\.elf$/.test(file)) fs.rmSync(path.join(out, file));
  console.log(`${stats.runs} mutants: ${stats.parsed} parsed, ${Object.entries(stats.byCode).map(([code, n]) => `${n} ${code}`).join(', ')}`);
  console.log(`slowest parse: ${stats.slowest.ms.toFixed(2)} ms (${stats.slowest.base}, mutant ${stats.slowest.iteration})`);
  console.log(`${stats.findings.length} findings${stats.findings.length > 0 ? ` saved in ${out}` : ''}`);
  process.exitCode = stats.findings.length > 0 ? 1 : 0;
}

try {
  main();
} catch (error) {
  console.error(error.message);
  process.exitCode = 2;
}
