// Tracing overhead (issue: runtime tracing): the same Python start-up untraced, under our ptrace
// backend (seccomp-filtered stops), under strace (on the syscalls our filter stops on, and on
// openat/execve only), and under fanotify and combined; interleaved, wall and CPU time.
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { trace } from '../lib/trace/tracer';
import { fmt, median, nowMs, timeCommand, writeResults } from './harness';

const PY = ['/usr/bin/python3', '-c', 'import ssl, sqlite3'];
const ROUNDS = 28; // 4 × the 7 rows: each row starts a round 4 times

/** The syscalls our seccomp filter stops on, by strace's names: read from the filter's own
 * table (native/src/seccomp.rs, `TRACED`), so that the comparison stays on the same set. */
function tracedSyscalls(): string[] {
  const source = readFileSync(path.resolve(__dirname, '../../native/src/seccomp.rs'), 'utf8');
  const table = /pub const TRACED: \[i64; \d+\] = \[([^\]]*)\]/.exec(source)?.[1];
  const names = [...(table ?? '').matchAll(/sys::SYS_(\w+)/g)].map((m) => m[1]!.toLowerCase());
  if (names.length === 0) throw new Error('cannot read the traced syscalls from native/src/seccomp.rs');
  return names;
}

/** CPU time of this process (all threads: the tracer runs in a libuv worker) and of its
 * reaped children (the traced command, strace), ms. Children count in clock ticks. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const tick = 1000 / 100; // USER_HZ
  return (usage.user + usage.system) / 1000 + (Number(fields[13]) + Number(fields[14])) * tick;
}

interface Result {
  median: number;
  runs: number[];
  /** Mean CPU time per run, ms. */
  cpu: number;
}

/** Run contenders interleaved `rounds` times (after one warm-up each), each round starting one
 * contender later, so that no row always follows the same other (with a fixed order, one run
 * had the untraced row, which followed combined, slower than every traced row). Wall medians
 * and mean CPU time. */
async function rotatingRounds(contenders: Record<string, () => Promise<number> | number>, rounds: number): Promise<Record<string, Result>> {
  const entries = Object.entries(contenders);
  for (const [, fn] of entries) await fn();
  const runs: Record<string, number[]> = Object.fromEntries(entries.map(([k]) => [k, []]));
  const cpu: Record<string, number> = Object.fromEntries(entries.map(([k]) => [k, 0]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < entries.length; i++) {
      const [name, fn] = entries[(r + i) % entries.length]!;
      const start = cpuMs();
      runs[name]!.push(await fn());
      cpu[name]! += cpuMs() - start;
    }
  }
  return Object.fromEntries(entries.map(([k]) => [k, { median: median(runs[k]!), runs: runs[k]!, cpu: cpu[k]! / rounds }]));
}

async function main(): Promise<void> {
  const ours = (backend: 'ptrace' | 'fanotify' | 'combined') => async () => {
    const start = nowMs();
    const report = await trace({ command: PY, backend, timeoutMs: 60_000 });
    if (report.exit === null || !('code' in report.exit) || report.exit.code !== 0) throw new Error(`trace failed: ${JSON.stringify(report.exit)}`);
    return nowMs() - start;
  };
  const set = tracedSyscalls();
  const strace = (args: string[]) => () => timeCommand(['strace', '-f', ...args, '-qq', '-o', '/dev/null', ...PY]);
  const SAME = `strace -f --seccomp-bpf, same ${set.length} syscalls`;
  const loadBefore = os.loadavg();
  const results = await rotatingRounds({
    untraced: () => timeCommand(PY),
    'sidebundle ptrace': ours('ptrace'),
    [SAME]: strace(['--seccomp-bpf', '-e', `trace=${set.join(',')}`]),
    'strace -f -e trace=openat,execve': strace(['-e', 'trace=openat,execve']),
    'strace -f --seccomp-bpf -e trace=openat,execve': strace(['--seccomp-bpf', '-e', 'trace=openat,execve']),
    'sidebundle fanotify': ours('fanotify'),
    'sidebundle combined': ours('combined'),
  }, ROUNDS);
  const loadAfter = os.loadavg();
  const base = results.untraced!.median;
  const baseCpu = results.untraced!.cpu;
  const rows = Object.entries(results).map(([name, r]) => {
    const cpu = r.cpu;
    return `| ${name} | ${fmt(r.median)} | +${fmt(Math.max(0, r.median - base))} | ${(r.median / base).toFixed(2)}× | ${fmt(cpu)} | +${fmt(Math.max(0, cpu - baseCpu))} |`;
  });
  const ptrace = results['sidebundle ptrace']!.median;
  const same = results[SAME]!.median;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const loaded = Math.max(loadBefore[0]!, loadAfter[0]!) > os.cpus().length;
  // Ours over strace within each round: both ran seconds apart, under the same load.
  const paired = median(results['sidebundle ptrace']!.runs.map((t, i) => t / results[SAME]!.runs[i]!));
  writeResults('trace', [
    '# Tracing overhead',
    '',
    `Command: \`${PY.join(' ')}\`. Medians of ${ROUNDS} interleaved rounds (after one warm-up each; each round starts one row later); our backends are timed`,
    'around the whole in-process trace() call (fork, exec, tracer loop, report). CPU is the mean per run of this',
    "process's (every thread, the tracer's included) and its reaped children's user+system time (children in 10 ms",
    'ticks, summed over the rounds). The "same syscalls" strace row traces what our seccomp filter stops on',
    `(\`${set.join(',')}\`); the other strace rows trace less than we record.`,
    `Load average (1, 5, 15 min) before: ${load(loadBefore)}, after: ${load(loadAfter)} on ${os.cpus().length} cores (a shared machine: compare rows, not runs).`,
    ...(loaded ? ['The load average is above the number of cores: the wall medians measure the scheduler as much as the tracers (in one', 'such run the untraced row came out slower than every traced one); the CPU columns are the steadier comparison.'] : []),
    '',
    '| run | median | overhead | ratio | CPU | CPU overhead |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Target: ours ≤ strace on the same syscalls. Measured: sidebundle ptrace ${fmt(ptrace)} vs ${fmt(same)} (${(ptrace / same).toFixed(2)}×;`,
    `median of the per-round ratios ${paired.toFixed(2)}×); CPU ${fmt(results['sidebundle ptrace']!.cpu)} vs ${fmt(results[SAME]!.cpu)}.`,
  ].join('\n'), { rounds: ROUNDS, loadBefore, loadAfter, syscalls: set, pairedRatio: paired, ...results });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
