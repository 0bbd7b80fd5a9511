// Launcher cost (issue 13 part 4): `true`, `jq --version` and `python3 -c pass` natively and
// through bundles in each run mode (ns with overlays and with binds only), plus the single-file
// bundle on a warm cache; where the ns launch spends its time (SIDEBUNDLE_DEBUG=timing, each
// phase's median over many runs); and the single file's size against the bundle directory and a
// tar.gz of it. hyperfine times every command of a program in one run (no shell, warm-up
// first); the bundles are built once by the CLI. The parts the launcher cannot time itself (its
// own start before `main`, the namespaces' teardown at the program's exit) are measured alone
// with bench/launch-probe.c, built here with cc. Beside them, exodus's launcher on the same
// programs, where exodus can be run (exodus()).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { fmt, hyperfine, median, type Timing, writeResults } from './harness';

const cli = path.resolve(__dirname, '../lib/cli/bin.js');
const MODES = ['host', 'auto', 'ns', 'bwrap'] as const;
const NS_BINDS = 'ns, binds (env SIDEBUNDLE_OVERLAY=0)';
const ENV_NATIVE = 'native through env (the cost of `env`)';
const SINGLE = 'single-file (warm)';
const PY_TRACE = '/usr/bin/python3::trace=/usr/bin/python3 -c pass';
const PHASE_RUNS = 300;
const PROBE_SOURCE = path.resolve(__dirname, '../../bench/launch-probe.c');
const FLOOR = 'a static program without a C library (fork, exec, exit: the floor)';
const GLIBC = 'a static glibc program (launch-probe exit)';
const RUNNER = 'the launcher alone (exits at once: its exec and start-up)';
const STATIC_RUNNER = 'the static glibc runner alone (the same)';
const EXODUS = 'exodus (its launcher)';

/**
 * exodus's bundle of true and jq (python3 needs its standard library, which exodus does not
 * find): `exodus` on PATH (pip install exodus-bundler), or a checkout's src/ in SB_EXODUS_SRC
 * (github.com/intoli/exodus; it needs nothing beyond Python's standard library). exodus compiles
 * its static C launchers with musl-gcc (apt-get install musl-tools) or diet, else it writes shell
 * scripts; the label says which it made. Undefined, with the reason, when exodus cannot run.
 */
function exodus(dir: string): { bin: string; label: string } | { skipped: string } {
  const src = process.env.SB_EXODUS_SRC;
  const argv = src
    ? ['python3', '-c', 'import sys; sys.argv[0] = "exodus"; from exodus_bundler.cli import main; main()']
    : ['exodus'];
  const tarball = path.join(dir, 'exodus.tgz');
  const r = spawnSync(argv[0]!, [...argv.slice(1), '--tarball', '--output', tarball, '/usr/bin/true', '/usr/bin/jq'], {
    env: src ? { ...process.env, PYTHONPATH: src } : process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) return { skipped: `exodus (${src ? `SB_EXODUS_SRC=${src} failed: ${(r.stderr ?? r.error?.message ?? '').trim().split('\n').pop()}` : 'not on PATH: pip install exodus-bundler, or SB_EXODUS_SRC=a checkout\'s src/'})` };
  const out = path.join(dir, 'exodus-out');
  mkdirSync(out);
  execFileSync('tar', ['-xzf', tarball, '-C', out]);
  const bin = path.join(out, 'exodus', 'bin');
  const launcher = readFileSync(realpathSync(path.join(bin, 'true'))).subarray(0, 4);
  return { bin, label: launcher.equals(Buffer.from('\x7fELF', 'latin1')) ? EXODUS.replace('its launcher', 'its static C launcher') : EXODUS.replace('its launcher', 'its shell-script launcher: no musl-gcc or diet') };
}

interface Probe {
  /** exit → the parent's wait, µs: a plain process, a user + mount namespace, one with binds, and that with a holder. */
  teardown: { plain: number; namespace: number; binds: number; held: number; bindCount: number };
  /** One CPUID instruction, µs. */
  cpuid: number;
  /** hyperfine of the floor, a static glibc program, the runner alone and native true. */
  exec: Record<string, Timing>;
}

/** The parts outside the runner's phases, measured with bench/launch-probe.c (undefined without cc). */
function probe(dir: string, launcher: string, runner: string): Probe | undefined {
  const bin = path.join(dir, 'launch-probe');
  const floor = path.join(dir, 'launch-probe-nolibc');
  const cc = (args: string[]) => spawnSync('cc', ['-O2', ...args, PROBE_SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
  const built = [cc(['-static', '-o', bin]), cc(['-DNOLIBC', '-nostdlib', '-static', '-o', floor])];
  if (built.some((r) => r.error || r.status !== 0)) {
    console.warn('bench/run: cc could not build bench/launch-probe.c: the start-up and teardown rows are left out');
    return undefined;
  }
  const mountPoint = path.join(dir, 'probe-root');
  mkdirSync(mountPoint);
  const teardown = JSON.parse(execFileSync(bin, ['teardown', '400', mountPoint], { encoding: 'utf8' })) as Probe['teardown'];
  const { cpuid } = JSON.parse(execFileSync(bin, ['cpuid', '2000'], { encoding: 'utf8' })) as { cpuid: number };
  // The launcher and the runner under their own names and without arguments say how to use
  // them and exit 2.
  const exec = hyperfine({ native: '/usr/bin/true', [FLOOR]: floor, [GLIBC]: `${bin} exit`, [RUNNER]: launcher, [STATIC_RUNNER]: runner }, 600, { ignoreFailure: true });
  return { teardown, cpuid, exec };
}

/** A difference with its sign (fmt has none). */
const signed = (ms: number) => `${ms < 0 ? '−' : '+'}${fmt(Math.abs(ms))}`;

/** The phase table's rows for what the probe measured (ms, but the probe's µs). */
function probeRows(p: Probe | undefined, nsOverNative: number, inRunner: number): string[] {
  if (!p) return ['| outside the launcher (not measured: no cc for bench/launch-probe.c) | |'];
  const start = p.exec[RUNNER]!.median - p.exec[FLOOR]!.median;
  const staticStart = p.exec[STATIC_RUNNER]!.median - p.exec[FLOOR]!.median;
  const glibc = p.exec[GLIBC]!.median - p.exec[FLOOR]!.median;
  const t = p.teardown;
  return [
    `| **outside the launcher**: its start before its first phase (the launcher alone − a static program without a C library) | ${fmt(start)} |`,
    `| for comparison, the static glibc runner's (which ns launches started in before native/nolibc) | ${fmt(staticStart)} |`,
    `| of which a static glibc program's start-up (the same difference); one CPUID costs ${fmt(p.cpuid / 1000)} here (a VM exit) | ${fmt(glibc)} |`,
    `| the namespaces' teardown, exit → the parent's wait, minus a plain process's: user + mount namespace / with a tmpfs and ${t.bindCount} binds | ${fmt((t.namespace - t.plain) / 1000)} / ${fmt((t.binds - t.plain) / 1000)} |`,
    `| the same with a holder (a clone child keeping the namespaces until the program exits; the launcher does not start one, docs/run-modes.md says why) | ${fmt((t.held - t.plain) / 1000)} |`,
    `| the rest (ns − native − the launcher's phases − its start): the program's exec in the root, noise | ${fmt(nsOverNative - inRunner - start)} |`,
  ];
}

function create(dir: string, name: string, args: string[]): string {
  const programs = ['--from-host', '/usr/bin/true', '--from-host', '/usr/bin/jq', '--from-host', PY_TRACE];
  execFileSync(process.execPath, [cli, 'create', '--name', name, '--out-dir', dir, ...programs, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return path.join(dir, name);
}

/** Each phase's median over `runs` launches with SIDEBUNDLE_DEBUG=timing (the runner prints
 * "timing <phase ms> <since start ms>  <phase>" lines); one line per mount kind sums its mounts. */
function phases(command: string, env: NodeJS.ProcessEnv, runs: number): { phases: Array<{ phase: string; ms: number; count: number }>; total: number } {
  const samples = new Map<string, number[]>();
  const counts = new Map<string, number>();
  const totals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(command, [], { env: { ...process.env, ...env, SIDEBUNDLE_DEBUG: 'timing' }, encoding: 'utf8' });
    const perRun = new Map<string, number>();
    let last = 0;
    for (const line of r.stderr.split('\n')) {
      const m = /timing\s+([\d.]+) ms\s+([\d.]+) ms\s+(.*)$/.exec(line);
      if (!m) continue;
      // Mounts of one kind are summed per run: "bind /boot", "bind /dev" ... → "bind (target's
      // top level)"; the payload's loader directories keep their own rows.
      const what = m[3]!.replace(/^(bind|symlink|dir) \/[^/]*$/, '$1 (top level, each of the target\'s)');
      perRun.set(what, (perRun.get(what) ?? 0) + Number(m[1]));
      if (i === 0) counts.set(what, (counts.get(what) ?? 0) + 1);
      last = Number(m[2]);
    }
    for (const [what, ms] of perRun) samples.set(what, [...(samples.get(what) ?? []), ms]);
    totals.push(last);
  }
  return { phases: [...samples].map(([phase, values]) => ({ phase, ms: median(values), count: counts.get(phase) ?? 1 })), total: median(totals) };
}

function main(): void {
  const oneMinuteBefore = os.loadavg()[0]!;
  const loadBefore = os.loadavg().map((l) => l.toFixed(1)).join(', ');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-run-'));
  const cacheDir = path.join(dir, 'single-cache');
  process.env.SIDEBUNDLE_CACHE_DIR = cacheDir;
  const bundles = Object.fromEntries(MODES.map((mode) => [mode, create(dir, `b-${mode}`, ['--run-mode', mode])]));
  const singleDir = create(dir, 'single', ['--emit-single-file']);
  const single = `${singleDir}.run`;
  // Warm the extraction cache.
  execFileSync(single, ['jq', '--version'], { env: { ...process.env, SIDEBUNDLE_CACHE_DIR: cacheDir } });
  const links = Object.fromEntries(['true', 'jq', 'python3'].map((name) => {
    const link = path.join(dir, name);
    execFileSync('ln', ['-s', single, link]);
    return [name, link];
  }));

  const ex = exodus(dir);
  const programs = {
    true: { native: '/usr/bin/true', bin: 'true', link: links.true!, runs: 800, exodus: true },
    'jq --version': { native: '/usr/bin/jq --version', bin: 'jq --version', link: `${links.jq} --version`, runs: 600, exodus: true },
    'python3 -c pass': { native: '/usr/bin/python3 -c pass', bin: 'python3 -c pass', link: `${links.python3} -c pass`, runs: 200, exodus: false },
  };
  const results: Record<string, Record<string, Timing>> = {};
  const rows: string[] = [];
  for (const [label, p] of Object.entries(programs)) {
    const commands: Record<string, string> = { native: p.native, [ENV_NATIVE]: `env ${p.native}` };
    for (const mode of MODES) commands[mode] = `${path.join(bundles[mode]!, 'bin', p.bin)}`;
    // The root built with binds, as where overlayfs is refused (through `env`: the row above
    // gives its cost).
    commands[NS_BINDS] = `env SIDEBUNDLE_OVERLAY=0 ${path.join(bundles.ns!, 'bin', p.bin)}`;
    commands[SINGLE] = p.link;
    if (p.exodus && 'bin' in ex) commands[ex.label] = path.join(ex.bin, p.bin);
    const timing = hyperfine(commands, p.runs);
    results[label] = timing;
    const base = timing.native!.median;
    for (const [name, t] of Object.entries(timing)) {
      rows.push(`| ${label} | ${name} | ${fmt(t.median)} | ${fmt(t.mean)} ± ${fmt(t.stddev)} | ${name === 'native' ? '' : signed(t.median - base)} |`);
    }
  }

  const nsTrue = path.join(bundles.ns!, 'bin', 'true');
  const overlay = phases(nsTrue, {}, PHASE_RUNS);
  const binds = phases(nsTrue, { SIDEBUNDLE_OVERLAY: '0' }, PHASE_RUNS);
  const phaseRows = overlay.phases.map((p) => `| ${p.phase.replace(/\|/g, '\\|')} | ${fmt(p.ms)}${p.count > 1 ? ` (${p.count} of them)` : ''} |`);
  const t = results.true!;
  const outside = probe(dir, path.join(bundles.ns!, 'runtime/sidebundle-launch'), path.join(bundles.ns!, 'runtime/sidebundle-run'));

  const bundleBytes = Number(execFileSync('du', ['-sb', '--apparent-size', singleDir], { encoding: 'utf8' }).split('\t')[0]);
  const tarGz = path.join(dir, 'single.tar.gz');
  execFileSync('tar', ['-czf', tarGz, '-C', dir, 'single']);
  const sizes = {
    singleFile: statSync(single).size,
    bundleDir: bundleBytes,
    tarGz: statSync(tarGz).size,
    launcher: statSync(path.join(bundles.ns!, 'runtime/sidebundle-launch')).size,
    runner: statSync(path.join(bundles.ns!, 'runtime/sidebundle-run')).size,
  };
  const over = (program: string, name: string) => signed(results[program]![name]!.median - results[program]!.native!.median);
  const vs = (program: string, name: string, other: string) => signed(results[program]![name]!.median - results[program]![other]!.median);
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const load = os.loadavg().map((l) => l.toFixed(1)).join(', ');
  // Loaded: other work took more than half the cores in the last minute, at the start or the end.
  const loaded = Math.max(oneMinuteBefore, os.loadavg()[0]!) > os.cpus().length / 2;
  writeResults('run', [
    '# Launcher cost by run mode',
    '',
    'Each bundle holds true, jq and python3 (traced with `-c pass`); one bundle per run mode, built by the CLI. hyperfine',
    '(no shell, 30 warm-up runs) times all commands of a program in one run; medians first, then mean ± σ. Entries',
    'start in sidebundle-launch (native/nolibc: no C library), and so does the single file, which it heads. `auto`',
    'resolves to ns on this machine. The single file runs from its extraction cache (warmed first), through a symlink',
    'named after the entry. The binds row goes through `env` (SIDEBUNDLE_OVERLAY is read at run time); the',
    '"through env" row is what `env` alone adds. The exodus row runs the bundle exodus itself made of true and jq',
    '(`exodus --tarball`, from a checkout of github.com/intoli/exodus in SB_EXODUS_SRC or `exodus` on PATH; its launchers',
    'compiled with musl-gcc), in the same hyperfine run.',
    '',
    `${loaded ? '**The machine is shared and was loaded**' : 'The machine is shared and was quiet'} (load average ${loadBefore} when the run started, ${load} when it ended, on ${os.cpus().length} cores): absolute figures`,
    'swing by 2× between runs; compare rows of one table, measured in one hyperfine run (one command after another).',
    '',
    '| program | how | median | mean ± σ | over native |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Targets (issue 13): ns ≤ native + 1 ms, host ≤ exodus's launcher, single-file warm ≤ ns + 0.3 ms. Measured for true: ns ${over('true', 'ns')}`,
    `(binds only ${over('true', NS_BINDS)}, of which \`env\` ${over('true', ENV_NATIVE)}), host ${over('true', 'host')},`,
    `single-file ${over('true', SINGLE)}; jq: ns ${over('jq --version', 'ns')}, host ${over('jq --version', 'host')},`,
    `single-file ${over('jq --version', SINGLE)}.`,
    'label' in ex
      ? `exodus's launcher (the bundle made by exodus itself): true ${over('true', ex.label)}, jq ${over('jq --version', ex.label)}; against it, host mode: true ${vs('true', 'host', ex.label)}, jq ${vs('jq --version', 'host', ex.label)}, ns: true ${vs('true', 'ns', ex.label)}, jq ${vs('jq --version', 'ns', ex.label)}.`
      : `Not measured: ${ex.skipped}.`,
    '',
    '## Where an ns launch spends its time',
    '',
    `\`SIDEBUNDLE_DEBUG=timing\` prints each phase of the launcher with CLOCK_MONOTONIC deltas; medians over ${PHASE_RUNS}`,
    'launches of the ns bundle\'s `true` (mounts of one kind summed per launch). The phases cover the launcher from',
    'its start to its exec of the program. Below the total, what the launcher cannot time itself, measured alone by',
    '`bench/launch-probe.c`: its start (hyperfine, 600 runs: the launcher under its own name,',
    'which exits at once, against a static program without a C library; glibc\'s start-up asks the CPU for its',
    'features and caches with CPUID, a VM exit each under a hypervisor), and the namespaces\' teardown when the',
    'program exits (every mount unmounted, an RCU grace period waited for; the probe\'s children exit, median',
    'over 400 interleaved rounds). The caller\'s wait includes the teardown: the launcher starts no holder to take it',
    'off that wait (docs/run-modes.md, "What a launch costs", says why).',
    '',
    '| phase | median |',
    '| --- | --- |',
    ...phaseRows,
    `| **in the launcher, total** | **${fmt(overlay.total)}** (binds only: ${fmt(binds.total)}) |`,
    ...probeRows(outside, t.ns!.median - t.native!.median, overlay.total),
    '',
    '| artefact | size |',
    '| --- | --- |',
    `| sidebundle-launch (static, no C library) | ${(sizes.launcher / 1024).toFixed(0)} KiB |`,
    `| sidebundle-run (static glibc: single files, bwrap) | ${mib(sizes.runner)} |`,
    `| single file (launcher + runner + DEFLATE) | ${mib(sizes.singleFile)} |`,
    `| bundle directory (apparent size) | ${mib(sizes.bundleDir)} |`,
    `| tar.gz of the bundle directory | ${mib(sizes.tarGz)} |`,
  ].join('\n'), { results, phases: { overlay, binds }, probe: outside, sizes, exodus: ex, loadavg: { before: loadBefore, after: os.loadavg() } });
  rmSync(dir, { recursive: true, force: true });
}

main();
