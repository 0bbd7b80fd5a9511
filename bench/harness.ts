// Benchmark helpers: repeated timings with medians, commands timed side by side (interleaved, so
// machine noise hits every contender alike), and result files written into bench/results/.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export async function timeAsync(fn: () => Promise<unknown> | unknown, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = nowMs();
    await fn();
    times.push(nowMs() - start);
  }
  return times;
}

/** How a user starts `cli`: the file itself, by its #! line, when it is executable (the shipped
 * bin.js, whose first lines are a shell script: scripts/bundle-cli.js); otherwise (a build by
 * tsc alone, main.js) through node. */
export function cliArgv(cli: string): string[] {
  try {
    accessSync(cli, constants.X_OK);
    if (readFileSync(cli, 'latin1').startsWith('#!')) return [cli];
  } catch {
    // not executable: through node
  }
  return [process.execPath, cli];
}

export function timeCommand(argv: string[], options: { env?: NodeJS.ProcessEnv; shell?: boolean } = {}): number {
  const start = nowMs();
  const result = options.shell
    ? spawnSync('/bin/sh', ['-c', argv.join(' ')], { stdio: 'ignore', env: options.env ?? process.env })
    : spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore', env: options.env ?? process.env });
  const elapsed = nowMs() - start;
  if (result.status !== 0) throw new Error(`benchmark command failed (${result.status}): ${argv.join(' ')}`);
  return elapsed;
}

/** Run contenders interleaved `rounds` times (after one warm-up each); medians in ms. */
export async function sideBySide(contenders: Record<string, () => Promise<number> | number>, rounds: number): Promise<Record<string, { median: number; runs: number[] }>> {
  const runs: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (const fn of Object.values(contenders)) await fn();
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(contenders)) runs[name]!.push(await fn());
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, { median: median(v), runs: v }]));
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

export const resultsDir = path.resolve(__dirname, '../../bench/results');

export function writeResults(name: string, markdown: string, data: unknown): void {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString();
  writeFileSync(path.join(resultsDir, `${name}.md`), `${markdown.trim()}\n\n_Measured ${stamp} on ${machine()}._\n`);
  writeFileSync(path.join(resultsDir, `${name}.json`), `${JSON.stringify({ measuredAt: stamp, machine: machine(), ...((data as object) ?? {}) }, null, 2)}\n`);
  process.stdout.write(`${markdown.trim()}\n\nwritten to ${path.join(resultsDir, `${name}.md`)}\n`);
}

export const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 100 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);

export interface Timing {
  command: string;
  mean: number;
  median: number;
  stddev: number;
  /** CPU time of the command, user and system, mean (ms): what machine load changes least. */
  user: number;
  system: number;
}

/** hyperfine (no shell) over `commands` in one run, after 30 warm-up runs each; ms.
 * `ignoreFailure`: time commands that exit non-zero (hyperfine -i). */
export function hyperfine(commands: Record<string, string>, runs: number, options: { ignoreFailure?: boolean; warmup?: number; cwd?: string } = {}): Record<string, Timing> {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'sb-bench-run-')), 'hf.json');
  const names = Object.keys(commands);
  const args = ['-N', '--warmup', String(options.warmup ?? 30), '--runs', String(runs), '--export-json', out, '--time-unit', 'millisecond', ...(options.ignoreFailure ? ['-i'] : [])];
  for (const name of names) args.push('-n', name, commands[name]!);
  const r = spawnSync('hyperfine', args, { stdio: ['ignore', 'ignore', 'inherit'], ...(options.cwd ? { cwd: options.cwd } : {}) });
  if (r.error || r.status !== 0) throw new Error(`hyperfine failed (install it: apt-get install hyperfine): ${r.error?.message ?? r.status}`);
  const json = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ command: string; mean: number; median: number; stddev: number; user: number; system: number }> };
  rmSync(path.dirname(out), { recursive: true, force: true });
  // hyperfine reports seconds unless --time-unit applies to the export (it does not in 1.15).
  const scale = json.results[0]!.mean < 0.5 ? 1000 : 1;
  return Object.fromEntries(json.results.map((x) => [x.command, { command: commands[x.command]!, mean: x.mean * scale, median: x.median * scale, stddev: x.stddev * scale, user: x.user * scale, system: x.system * scale }]));
}
