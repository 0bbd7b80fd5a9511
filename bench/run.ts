// Launcher cost (issue: run modes): `jq --version` and `python3 -c pass` natively and through
// bundles in each run mode, plus the single-file bundle on a warm cache; and the single file's
// size against the bundle directory and a tar.gz of it. hyperfine times every command of a
// program in one run (no shell, warm-up first); the bundles are built once by the CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { fmt, hyperfine, type Timing, writeResults } from './harness';

const cli = path.resolve(__dirname, '../lib/cli/main.js');
const MODES = ['host', 'auto', 'ns', 'bwrap'] as const;
const NS_BINDS = 'ns, binds (SIDEBUNDLE_OVERLAY=0)';
const PY_TRACE = '/usr/bin/python3::trace=/usr/bin/python3 -c pass';

function create(dir: string, name: string, args: string[]): string {
  execFileSync(process.execPath, [cli, 'create', '--name', name, '--out-dir', dir, '--from-host', '/usr/bin/jq', '--from-host', PY_TRACE, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return path.join(dir, name);
}

function main(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-run-'));
  const cacheDir = path.join(dir, 'single-cache');
  process.env.SIDEBUNDLE_CACHE_DIR = cacheDir;
  const bundles = Object.fromEntries(MODES.map((mode) => [mode, create(dir, `b-${mode}`, ['--run-mode', mode])]));
  const singleDir = create(dir, 'single', ['--emit-single-file']);
  const single = `${singleDir}.run`;
  // Warm the extraction cache.
  execFileSync(single, ['jq', '--version'], { env: { ...process.env, SIDEBUNDLE_CACHE_DIR: cacheDir } });
  const jqLink = path.join(dir, 'jq');
  const pyLink = path.join(dir, 'python3');
  execFileSync('ln', ['-s', single, jqLink]);
  execFileSync('ln', ['-s', single, pyLink]);

  const programs = {
    'jq --version': { native: '/usr/bin/jq --version', bin: 'jq --version', link: `${jqLink} --version` },
    'python3 -c pass': { native: '/usr/bin/python3 -c pass', bin: 'python3 -c pass', link: `${pyLink} -c pass` },
  };
  const results: Record<string, Record<string, Timing>> = {};
  const rows: string[] = [];
  for (const [label, p] of Object.entries(programs)) {
    const commands: Record<string, string> = { native: p.native };
    for (const mode of MODES) commands[mode] = `${path.join(bundles[mode]!, 'bin', p.bin)}`;
    // The root built with binds, as where overlayfs is refused (one `env` exec more, ~0.5 ms).
    commands[NS_BINDS] = `env SIDEBUNDLE_OVERLAY=0 ${path.join(bundles.ns!, 'bin', p.bin)}`;
    commands['single-file (warm)'] = p.link;
    const timing = hyperfine(commands, label.startsWith('jq') ? 500 : 200);
    results[label] = timing;
    const base = timing.native!.mean;
    for (const [name, t] of Object.entries(timing)) {
      rows.push(`| ${label} | ${name} | ${fmt(t.mean)} ± ${fmt(t.stddev)} | ${name === 'native' ? '' : `+${fmt(t.mean - base)}`} |`);
    }
  }

  const bundleBytes = Number(execFileSync('du', ['-sb', '--apparent-size', singleDir], { encoding: 'utf8' }).split('\t')[0]);
  const tarGz = path.join(dir, 'single.tar.gz');
  execFileSync('tar', ['-czf', tarGz, '-C', dir, 'single']);
  const sizes = { singleFile: statSync(single).size, bundleDir: bundleBytes, tarGz: statSync(tarGz).size };
  const jq = results['jq --version']!;
  const over = (name: string) => jq[name]!.mean - jq.native!.mean;
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  writeResults('run', [
    '# Launcher cost by run mode',
    '',
    'Each bundle holds jq and python3 (traced with `-c pass`); one bundle per run mode, built by the CLI. hyperfine',
    '(no shell, 30 warm-up runs) times all commands of a program in one run; mean ± σ. `auto` resolves to ns on this',
    'machine. The single file runs from its extraction cache (warmed first), through a symlink named after the entry.',
    '',
    '| program | how | time | over native |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `Targets: host and ns within 1 ms of native (jq), single-file warm within 2 ms. Measured for jq: host +${fmt(over('host'))},`,
    `ns +${fmt(over('ns'))} (overlays; with binds only +${fmt(over(NS_BINDS))}), auto +${fmt(over('auto'))}, bwrap +${fmt(over('bwrap'))},`,
    `single-file +${fmt(over('single-file (warm)'))}.`,
    '',
    '| artefact | size |',
    '| --- | --- |',
    `| single file (runner + DEFLATE) | ${mib(sizes.singleFile)} |`,
    `| bundle directory (apparent size) | ${mib(sizes.bundleDir)} |`,
    `| tar.gz of the bundle directory | ${mib(sizes.tarGz)} |`,
  ].join('\n'), { results, sizes });
  rmSync(dir, { recursive: true, force: true });
}

main();
