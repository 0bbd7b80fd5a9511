// A Node app as a bundle (issue 16): the node-app fixture (ms, kleur, bufferutil with its
// prebuilds, better-sqlite3 compiled at install, an ESM workspace package, left-pad as a
// devDependency) with a CommonJS entry, bundled by the CLI in host mode. Size: the bundle
// against what running it natively needs on disk (node_modules as npm installed it, the app, the
// node binary and the libraries it loads). Start-up: the bundle's launcher against `node cli.js`
// and `node -e 0`, interleaved, medians (target: bundle ≤ native + 5 ms).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { LauncherSpec } from '../lib/package/launcher';
import { nodeAppFixture } from '../spec/fixtures/node-app';
import { fmt, hyperfine, median, sideBySide, timeCommand, writeResults } from './harness';

const CLI = path.resolve(__dirname, '../lib/cli/bin.js');
const ROUNDS = 60;
const HYPERFINE_RUNS = 40;
const NODE = realpathSync(execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim());

const APP = `#!/usr/bin/env node
'use strict';
const path = require('node:path');
const ms = require('ms');
const kleur = require('kleur');
const native = require('node-gyp-build')(path.dirname(require.resolve('bufferutil/package.json')));
const parts = [ms(90000), kleur.bold('x').length];
const masked = Buffer.alloc(4);
native.mask(Buffer.from('abcd'), Buffer.from([1, 2, 3, 4]), masked, 0, 4);
parts.push(masked.toString('hex'));
SQLITE
import('greet').then(({ greet }) => console.log([...parts, greet('bench')].join(' ')));
`;
const SQLITE = `const db = new (require('better-sqlite3'))(':memory:');
parts.push(db.prepare('select 41 + 1 as y').get().y);`;

/** Bytes and files under `dir` (regular files by size, symlinks not followed). */
function du(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        bytes += lstatSync(p).size;
        files++;
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

/** The node binary and the shared libraries it loads (ldd), deduplicated by real path. */
function nodeOnDisk(): { bytes: number; files: string[] } {
  const out = execFileSync('ldd', [NODE], { encoding: 'utf8' });
  const libs = [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => realpathSync(m[1]!));
  const files = [...new Set([NODE, ...libs])];
  return { bytes: files.reduce((n, f) => n + statSync(f).size, 0), files };
}

/** The bundled node run by the bundled loader with `-e 0`, as the launcher starts it in host
 * mode (read from the entry's spec: loader, loader, --library-path, paths, [--argv0, name],
 * program, args): what running node from the bundle costs before the app and the launcher's own
 * work. */
function loaderRow(bundle: string, entry: string): Record<string, string[]> {
  const spec = JSON.parse(readFileSync(path.join(bundle, 'runtime/entries', `${entry}.json`), 'utf8')) as LauncherSpec;
  const [loader, , flag, paths, ...rest] = spec.host;
  const program = rest[0] && 's' in rest[0] && rest[0].s === '--argv0' ? rest[2] : rest[0];
  if (!loader || !('b' in loader) || !flag || !('s' in flag) || flag.s !== '--library-path' || !paths || !('paths' in paths) || !program || !('b' in program)) {
    throw new Error(`${entry}'s host command in ${bundle}/runtime/entries is not loader --library-path ... program: ${JSON.stringify(spec.host)}`);
  }
  const at = (p: string) => path.join(bundle, p);
  return { "bundle's node -e 0 through its loader": [at(loader.b), '--library-path', paths.paths.map(at).join(':'), at(program.b), '-e', '0'] };
}

const mib = (n: number) => (n / 1048576).toFixed(1);

async function main(): Promise<void> {
  const fixture = nodeAppFixture();
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-node-'));
  try {
    const app = path.join(work, 'demo-app');
    cpSync(fixture.dir, app, { recursive: true, verbatimSymlinks: true });
    writeFileSync(path.join(app, 'cli.js'), APP.replace('SQLITE', fixture.sqlite === true ? SQLITE : ''), { mode: 0o755 });
    const out = path.join(work, 'out');
    execFileSync(process.execPath, [CLI, 'create', '--name', 'app', '--out-dir', out, '--run-mode', 'host', '--from-host', path.join(app, 'cli.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const bundle = path.join(out, 'app');
    const launcher = path.join(bundle, 'bin/cli.js');
    const native = spawnSync(NODE, ['cli.js'], { cwd: app, encoding: 'utf8' }).stdout;
    const bundled = spawnSync(launcher, [], { cwd: work, encoding: 'utf8' }).stdout;
    if (native !== bundled || native === '') throw new Error(`the bundle prints ${JSON.stringify(bundled)}, node ${JSON.stringify(native)}`);

    const tarGz = path.join(work, 'app.tar.gz');
    execFileSync('tar', ['-czf', tarGz, '-C', out, 'app']);
    const size = { bundle: du(bundle), tarGz: statSync(tarGz).size, nodeModules: du(path.join(app, 'node_modules')), node: nodeOnDisk() };
    const appOwn = du(app).bytes - size.nodeModules.bytes;
    const nativeBytes = size.nodeModules.bytes + appOwn + size.node.bytes;

    const commands: Record<string, string[]> = { 'node -e 0': [NODE, '-e', '0'], ...loaderRow(bundle, 'cli.js'), 'native: node cli.js': [NODE, path.join(app, 'cli.js')], 'bundle (host mode): bin/cli.js': [launcher] };
    const times = await sideBySide(Object.fromEntries(Object.entries(commands).map(([name, argv]) => [name, () => timeCommand(argv)])), ROUNDS);
    const nativeRuns = times['native: node cli.js']!.runs;
    const bundleRuns = times['bundle (host mode): bin/cli.js']!.runs;
    // The same round's two runs see about the same load: their difference is the launcher's cost.
    const nativeMs = times['native: node cli.js']!.median;
    const bundleMs = times['bundle (host mode): bin/cli.js']!.median;
    const paired = median(bundleRuns.map((t, i) => t - nativeRuns[i]!));
    const cpu = hyperfine(Object.fromEntries(Object.entries(commands).map(([name, argv]) => [name, argv.join(' ')])), HYPERFINE_RUNS);
    const cpuOf = (name: string) => cpu[name]!.user + cpu[name]!.system;
    const cpuDelta = cpuOf('bundle (host mode): bin/cli.js') - cpuOf('native: node cli.js');
    const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();

    const lines = [
      '# Node app bundle: size and start-up',
      '',
      `The node-app fixture (ms, kleur, bufferutil with prebuilds for 5 platforms, ${fixture.sqlite === true ? 'better-sqlite3 compiled at install, ' : ''}an ESM workspace package, left-pad as a devDependency), entry \`cli.js\` (CommonJS: the addons, \`import('greet')\`), bundled with \`sidebundle create --run-mode host\`. It prints \`${native.trim()}\` natively and from the bundle.`,
      '',
      '## Size',
      '',
      '| | files | MiB |',
      '|---|---:|---:|',
      `| node_modules as npm installed it (devDependencies, sources, docs, all prebuilds) | ${size.nodeModules.files} | ${mib(size.nodeModules.bytes)} |`,
      `| the app's own files | | ${mib(appOwn)} |`,
      `| node and the libraries it loads (${size.node.files.map((f) => path.basename(f)).join(', ')}) | ${size.node.files.length} | ${mib(size.node.bytes)} |`,
      `| **native total** | | **${mib(nativeBytes)}** |`,
      `| **bundle directory** (node, its loader and libraries, the app, the production closure) | ${size.bundle.files} | **${mib(size.bundle.bytes)}** (${(size.bundle.bytes / nativeBytes).toFixed(2)}× native) |`,
      `| bundle as tar.gz | 1 | ${mib(size.tarGz)} |`,
      `| node_modules alone vs the bundle without node: ${mib(size.nodeModules.bytes)} vs ${mib(size.bundle.bytes - size.node.bytes)} MiB | | |`,
      '',
      '## Start-up (interleaved, medians)',
      '',
      `Wall time: ${ROUNDS} rounds after one warm-up each, each round running the commands in turn (\`bench/harness.ts\` sideBySide). CPU time (user + system): hyperfine, ${HYPERFINE_RUNS} runs each after 30 warm-ups; it is what machine load changes least.`,
      '',
      '| command | wall median | wall min | CPU (user + system), mean |',
      '|---|---:|---:|---:|',
      ...Object.entries(times).map(([name, t]) => `| ${name} | ${fmt(t.median)} | ${fmt(Math.min(...t.runs))} | ${fmt(cpuOf(name))} |`),
      '',
      `Bundle − native: wall, median of the per-round differences **${fmt(paired)}** (difference of the medians ${fmt(bundleMs - nativeMs)}); CPU **${fmt(cpuDelta)}**. Target ≤ native + 5 ms: ${paired <= 5 ? 'met' : 'not met'} by the paired wall figure in this run.`,
      '',
      'The launcher in host mode is sidebundle-launch (static, no C library), which execs the bundled loader on the bundled node (with --library-path) as runtime/entries/cli.js.json says; the second row is that last step alone. On a machine as loaded as this one (below), two runs of this bench differed by more than the 5 ms target: judge the target on an idle machine.',
      '',
      `Machine load while measuring (shared with other jobs): \`${uptime}\`.`,
    ];
    writeResults('node-app', lines.join('\n'), { size, appOwnBytes: appOwn, nativeBytes, times: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.median])), pairedMs: paired, cpu, rounds: ROUNDS, uptime, output: native.trim() });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
