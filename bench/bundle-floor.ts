// A whole `sidebundle create` process (Node's start-up included) against the floor of copying and
// hashing the same files (`cp` + `sha256sum`), run interleaved. Cold means a fresh, empty step
// cache every run (--cache-dir): nothing is known, every file is read and hashed, while the CLI's
// code cache (bin.js) is the one its earlier runs left, as on any machine where sidebundle has run
// once; a third contender is the CLI's first run, with a fresh XDG_CACHE_HOME (no code cache). "cache
// of an earlier run" is the default cache after the warm-up, with a new output directory each
// time (the package step then links contents from the cache's store; the baseline build, if any,
// shares that cache, each build with its own digest memo). Each contender runs under
// /usr/bin/time, which also gives its CPU time (what machine load changes least) and peak RSS.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { buildClosure } from '../lib/resolve/closure';
import { cliArgv, fmt, median, nowMs } from './harness';

const TIME = '/usr/bin/time';

export interface ProcessRun {
  wallMs: number;
  cpuMs: number;
  maxRssKiB: number;
}

/** One process, timed by us (wall) and by /usr/bin/time (CPU, peak RSS). */
export function runTimed(argv: string[], env: NodeJS.ProcessEnv = process.env): ProcessRun {
  const report = path.join(os.tmpdir(), `sb-bench-time-${process.pid}`);
  const start = nowMs();
  const result = spawnSync(TIME, ['-f', '%U %S %M', '-o', report, ...argv], { stdio: 'ignore', env });
  const wallMs = nowMs() - start;
  if (result.status !== 0) throw new Error(`benchmark command failed (${result.status}): ${argv.join(' ')}`);
  const [user, system, rss] = readFileSync(report, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(report, { force: true });
  return { wallMs, cpuMs: (user! + system!) * 1000, maxRssKiB: rss! };
}

export interface FloorComparison {
  programs: string[];
  files: number;
  bytes: number;
  rounds: number;
  contenders: Record<string, { wallMs: number; cpuMs: number; maxRssKiB: number; wallRuns: number[]; cpuRuns: number[] }>;
}

/**
 * `sidebundle create` of `programs` (cold, and with the cache of an earlier run), the floor and
 * `node -e 0`, interleaved for `rounds` rounds after one warm-up each. `baselineCli`: another
 * build's main.js (e.g. the previous commit's), run cold and warm beside this one.
 */
export function bundleAgainstFloor(cli: string, programs: string[], rounds: number, baselineCli?: string): FloorComparison {
  if (!existsSync(TIME)) throw new Error(`${TIME} is needed (apt-get install time)`);
  const closure = buildClosure({ entries: programs.map((p) => ({ path: p })) });
  const files = closure.files.map((f) => f.path);
  const bytes = files.reduce((sum, f) => sum + Number(spawnSync('stat', ['-L', '-c', '%s', f], { encoding: 'utf8' }).stdout.trim()), 0);
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-floor-'));
  let round = 0;
  const fresh = (stem: string) => path.join(work, `${stem}${round++}`);
  const create = (main: string, env: NodeJS.ProcessEnv, extra: string[] = []) => () => {
    const out = fresh('out');
    const argv = [...cliArgv(main), 'create', '--name', 'b', ...programs.flatMap((p) => ['--from-host', p]), '--out-dir', out, ...extra];
    const run = runTimed(argv, env);
    rmSync(out, { recursive: true, force: true });
    return run;
  };
  // A fresh step cache (with its digest memo); `firstRun`: a fresh XDG_CACHE_HOME, so the CLI's
  // code cache (bin.js) is absent too and is written by this run.
  const cold = (main: string, firstRun = false, env: NodeJS.ProcessEnv = process.env) => () => {
    const cache = fresh('cache');
    mkdirSync(cache);
    const run = firstRun ? create(main, { ...env, XDG_CACHE_HOME: cache })() : create(main, env, ['--cache-dir', cache])();
    rmSync(cache, { recursive: true, force: true });
    return run;
  };
  // NODE_EXTRA_CA_CERTS (set on some machines, this one included) makes every Node process parse
  // those certificates at start-up: tens of ms on our side that the floor does not pay. Where it
  // is set, the cold run and `node -e 0` are also timed without it.
  const withoutCerts: NodeJS.ProcessEnv = { ...process.env };
  delete withoutCerts.NODE_EXTRA_CA_CERTS;
  const certs: Record<string, () => ProcessRun> = process.env.NODE_EXTRA_CA_CERTS
    ? {
        'sidebundle create, cold, without NODE_EXTRA_CA_CERTS': cold(cli, false, withoutCerts),
        'node -e 0, without NODE_EXTRA_CA_CERTS': () => runTimed([process.execPath, '-e', '0'], withoutCerts),
      }
    : {};
  const floor = () => {
    const dest = fresh('floor');
    const run = runTimed(['/bin/sh', '-c', `mkdir -p ${dest} && cp --preserve=mode ${files.join(' ')} ${dest}/ && sha256sum ${files.join(' ')} > /dev/null`]);
    rmSync(dest, { recursive: true, force: true });
    return run;
  };
  // The native hasher (lib/native/hash.ts) against Node's own hash on its one thread.
  const nodeHash: NodeJS.ProcessEnv = { ...process.env, SIDEBUNDLE_NATIVE_HASH: '0' };
  const contenders: Record<string, () => ProcessRun> = {
    'sidebundle create, cold': cold(cli),
    'sidebundle create, cold, hashing on Node\'s thread (SIDEBUNDLE_NATIVE_HASH=0)': cold(cli, false, nodeHash),
    'sidebundle create, cold, the CLI\'s first run (no code cache either)': cold(cli, true),
    ...(baselineCli ? { 'baseline create, cold': cold(baselineCli) } : {}),
    'sidebundle create, cache of an earlier run': create(cli, process.env),
    ...(baselineCli ? { 'baseline create, cache of an earlier run': create(baselineCli, process.env) } : {}),
    'floor: cp + sha256sum': floor,
    'node -e 0': () => runTimed([process.execPath, '-e', '0']),
    ...certs,
  };
  const runs: Record<string, ProcessRun[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  try {
    for (const fn of Object.values(contenders)) fn();
    for (let r = 0; r < rounds; r++) for (const [name, fn] of Object.entries(contenders)) runs[name]!.push(fn());
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const summary = summarise(runs);
  return { programs, files: files.length, bytes, rounds, contenders: summary };
}

function summarise(runs: Record<string, ProcessRun[]>): FloorComparison['contenders'] {
  return Object.fromEntries(Object.entries(runs).map(([name, list]) => [name, {
    wallMs: median(list.map((x) => x.wallMs)),
    cpuMs: median(list.map((x) => x.cpuMs)),
    maxRssKiB: Math.max(...list.map((x) => x.maxRssKiB)),
    wallRuns: list.map((x) => Math.round(x.wallMs)),
    cpuRuns: list.map((x) => Math.round(x.cpuMs)),
  }]));
}

/** Name of the floor contender in a comparison. */
export const VERIFY_FLOOR = 'floor: sha256sum of its files (each inode once)';

/**
 * `sidebundle verify` of a bundle of `programs` (made once here), with the native hasher and with
 * Node's own hash, against sha256sum of the same files (each hard-linked inode once, as verify
 * hashes them), interleaved for `rounds` rounds after one warm-up each.
 */
export function verifyAgainstFloor(cli: string, programs: string[], rounds: number): FloorComparison {
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-verify-'));
  try {
    runTimed([...cliArgv(cli), 'create', '--name', 'b', ...programs.flatMap((p) => ['--from-host', p]), '--out-dir', work, '--no-cache']);
    const dir = path.join(work, 'b');
    const inodes = new Map<string, string>();
    const walk = (at: string): void => {
      for (const entry of readdirSync(at, { withFileTypes: true })) {
        const full = path.join(at, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile()) {
          const st = statSync(full);
          if (!inodes.has(`${st.dev}:${st.ino}`)) inodes.set(`${st.dev}:${st.ino}`, full);
        }
      }
    };
    walk(dir);
    const files = [...inodes.values()];
    const verify = (env: NodeJS.ProcessEnv) => () => runTimed([...cliArgv(cli), 'verify', dir], env);
    const contenders: Record<string, () => ProcessRun> = {
      'sidebundle verify': verify(process.env),
      'sidebundle verify, hashing on Node\'s thread (SIDEBUNDLE_NATIVE_HASH=0)': verify({ ...process.env, SIDEBUNDLE_NATIVE_HASH: '0' }),
      [VERIFY_FLOOR]: () => runTimed(['sha256sum', ...files]),
    };
    const runs: Record<string, ProcessRun[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
    for (const fn of Object.values(contenders)) fn();
    for (let r = 0; r < rounds; r++) for (const [name, fn] of Object.entries(contenders)) runs[name]!.push(fn());
    const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
    return { programs, files: files.length, bytes, rounds, contenders: summarise(runs) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The median over rounds of `runs[i] / floorRuns[i]`: contenders of one round share its load. */
function roundRatio(runs: number[], floorRuns: number[]): number {
  return median(runs.map((x, i) => x / Math.max(floorRuns[i]!, 1)));
}

/** Table rows: each contender's medians and its ratios to the floor (the median of the
 * per-round ratios, which the machine's load sways less than a ratio of medians). */
export function floorRows(label: string, c: FloorComparison, floorName = 'floor: cp + sha256sum'): string[] {
  const floor = c.contenders[floorName]!;
  const mib = (c.bytes / 2 ** 20).toFixed(0);
  return Object.entries(c.contenders).map(([name, x]) => {
    const ratios = name === floorName ? '1×' : `${roundRatio(x.wallRuns, floor.wallRuns).toFixed(2)}× (CPU ${roundRatio(x.cpuRuns, floor.cpuRuns).toFixed(2)}×)`;
    return `| ${label} (${c.files} files, ${mib} MiB): ${name} | ${fmt(x.wallMs)} wall, ${fmt(x.cpuMs)} CPU, peak RSS ${(x.maxRssKiB / 1024).toFixed(0)} MiB | ${ratios} |`;
  });
}
