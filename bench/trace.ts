// Tracing overhead (issue: runtime tracing): the same Python start-up untraced, under our ptrace
// backend (seccomp-filtered stops), under strace, and under fanotify and combined; interleaved.
import { trace } from '../lib/trace/tracer';
import { fmt, sideBySide, nowMs, timeCommand, writeResults } from './harness';

const PY = ['/usr/bin/python3', '-c', 'import ssl, sqlite3'];

async function main(): Promise<void> {
  const ours = (backend: 'ptrace' | 'fanotify' | 'combined') => async () => {
    const start = nowMs();
    const report = await trace({ command: PY, backend, timeoutMs: 60_000 });
    if (report.exit === null || !('code' in report.exit) || report.exit.code !== 0) throw new Error(`trace failed: ${JSON.stringify(report.exit)}`);
    return nowMs() - start;
  };
  const results = await sideBySide({
    untraced: () => timeCommand(PY),
    'sidebundle ptrace': ours('ptrace'),
    'strace -f -e trace=openat,execve': () => timeCommand(['strace', '-f', '-e', 'trace=openat,execve', '-o', '/dev/null', ...PY]),
    'strace -f --seccomp-bpf -e trace=openat,execve': () => timeCommand(['strace', '-f', '--seccomp-bpf', '-e', 'trace=openat,execve', '-o', '/dev/null', ...PY]),
    'sidebundle fanotify': ours('fanotify'),
    'sidebundle combined': ours('combined'),
  }, 15);
  const base = results.untraced!.median;
  const rows = Object.entries(results).map(([name, r]) => `| ${name} | ${fmt(r.median)} | +${fmt(Math.max(0, r.median - base))} | ${(r.median / base).toFixed(2)}× |`);
  const ptrace = results['sidebundle ptrace']!.median;
  const strace = results['strace -f -e trace=openat,execve']!.median;
  writeResults('trace', [
    '# Tracing overhead',
    '',
    `Command: \`${PY.join(' ')}\`. Medians of 15 interleaved rounds (after one warm-up each); our backends are timed`,
    'around the whole in-process trace() call (fork, exec, tracer loop, report). Our ptrace backend also records the',
    'stat family and access/readlinkat (13 syscalls), more than the strace runs record.',
    '',
    '| run | median | overhead | ratio |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `Target: ours ≤ strace's. Measured: sidebundle ptrace ${fmt(ptrace)} vs strace ${fmt(strace)} (${(ptrace / strace).toFixed(2)}×).`,
  ].join('\n'), results);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
