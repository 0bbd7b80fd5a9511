// Rebundle costs (issue: Nx plugin): a python3 + jq bundle through the engine with its step
// cache — cold, no-op, and incremental (the project's script edited) — and the same no-op through
// `nx run` in a real workspace installed from `npm pack`, to show Nx's own share. With
// NX_BENCH_BASELINE=<a dist/ of another build> the engine rows run that build too, interleaved.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { bundle } from '../lib/bundle';
import { StepCache } from '../lib/cache/step-cache';
import type { EntrySpec } from '../lib/entries/spec';
import { fmt, hyperfine, median, nowMs, writeResults } from './harness';

const repo = path.resolve(__dirname, '../..');

/** The project's own script: what a developer edits between two bundles. */
function writeScript(file: string, version: number): void {
  writeFileSync(file, `#!/bin/sh\necho "report v${version}: $(jq -n '[1, 2, 3] | add')"\n`, { mode: 0o755 });
}

/** The engine's entry points, from this build or from a baseline's dist/ (NX_BENCH_BASELINE). */
interface Engine {
  bundle: typeof bundle;
  StepCache: typeof StepCache;
}

const ours: Engine = { bundle, StepCache };

function baselineEngine(dist: string): Engine {
  const at = path.resolve(dist);
  return { bundle: (require(path.join(at, 'lib/bundle')) as { bundle: typeof bundle }).bundle, StepCache: (require(path.join(at, 'lib/cache/step-cache')) as { StepCache: typeof StepCache }).StepCache };
}

interface EngineRound {
  cold: number;
  noop: number;
  incremental: number;
  noopCpu: number;
  incrementalCpu: number;
  /** The incremental run, per step: hit or run, and the time from its start to the next step's. */
  steps: Array<{ step: string; status: string; ms: number }>;
}

async function engine(work: string, round: string, impl: Engine = ours): Promise<EngineRound> {
  const cache = new impl.StepCache(path.join(work, `cache-${round}`));
  const outDir = path.join(work, `out-${round}`);
  const script = path.join(work, `src-${round}`, 'report.sh');
  mkdirSync(path.dirname(script), { recursive: true });
  const entries: EntrySpec[] = [
    { source: 'host', path: '/usr/bin/python3', trace: ['/usr/bin/python3', '-c', 'import json, sqlite3, ssl'] },
    { source: 'host', path: '/usr/bin/jq' },
    { source: 'host', path: script, trace: [script] },
  ];
  const run = async () => {
    const marks: Array<{ step: string; status: string; at: number }> = [];
    const cpu = process.cpuUsage();
    const start = nowMs();
    await impl.bundle({ name: 'tools', entries, outDir, traceBackend: 'ptrace', traceInclude: [path.dirname(script)] }, {
      cache,
      onEvent: (e) => {
        if (e.type === 'step') marks.push({ step: e.detail && e.step === 'trace' ? `trace ${e.detail.split(':')[0]}` : e.step, status: e.status, at: nowMs() });
      },
    });
    const end = nowMs();
    const used = process.cpuUsage(cpu);
    const steps = marks.map((m, i) => ({ step: m.step, status: m.status, ms: (marks[i + 1]?.at ?? end) - m.at }));
    return { ms: end - start, cpu: (used.user + used.system) / 1000, steps };
  };
  writeScript(script, 1);
  const cold = await run();
  const noop = await run();
  writeScript(script, 2);
  const incremental = await run();
  return { cold: cold.ms, noop: noop.ms, incremental: incremental.ms, noopCpu: noop.cpu, incrementalCpu: incremental.cpu, steps: incremental.steps };
}

/** Medians over rounds of each field, and of each step of the incremental run (by position). */
function summary(rounds: EngineRound[]) {
  const of = (f: keyof Omit<EngineRound, 'steps'>) => median(rounds.map((r) => r[f]));
  const steps = rounds[0]!.steps.map((s, i) => ({ step: s.step, status: [...new Set(rounds.map((r) => r.steps[i]?.status))].join('/'), ms: median(rounds.map((r) => r.steps[i]?.ms ?? 0)) }));
  return { cold: of('cold'), noop: of('noop'), incremental: of('incremental'), noopCpu: of('noopCpu'), incrementalCpu: of('incrementalCpu'), steps };
}

function nxWorkspace(work: string): string {
  const pack = path.join(work, 'pack');
  mkdirSync(pack, { recursive: true });
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', pack], { cwd: repo, stdio: 'ignore' });
  const tarball = path.join(pack, readdirSync(pack).find((f) => f.endsWith('.tgz'))!);
  const ws = path.join(work, 'ws');
  mkdirSync(path.join(ws, 'apps/tools'), { recursive: true });
  writeFileSync(path.join(ws, 'package.json'), JSON.stringify({ name: 'bench', private: true, devDependencies: { nx: require('nx/package.json').version, sidebundle: `file:${tarball}` } }));
  writeFileSync(path.join(ws, 'nx.json'), JSON.stringify({ plugins: ['sidebundle/plugin'] }));
  writeFileSync(path.join(ws, 'apps/tools/project.json'), JSON.stringify({ name: 'tools' }));
  writeFileSync(path.join(ws, 'apps/tools/sidebundle.json'), JSON.stringify({
    name: 'tools', traceBackend: 'ptrace',
    entries: [{ host: '/usr/bin/python3', trace: ['/usr/bin/python3', '-c', 'import json, sqlite3'] }, '/usr/bin/jq'],
  }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: ws, stdio: 'ignore' });
  return ws;
}

/** A project whose sidebundle.lock lists exactly 200 files outside the workspace (the issue's
 * "project with 200 traced files"), written as the trace target would. */
function lock200Project(ws: string): void {
  const dir = path.join(ws, 'apps/lock200');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'project.json'), JSON.stringify({ name: 'lock200' }));
  writeFileSync(path.join(dir, 'sidebundle.json'), JSON.stringify({ name: 'lock200', entries: ['/usr/bin/true'] }));
  const files: string[] = [];
  for (const sub of ['', '/json', '/email', '/asyncio', '/importlib', '/xml/dom']) {
    const at = `/usr/lib/python3.11${sub}`;
    for (const name of readdirSync(at).sort()) if (name.endsWith('.py')) files.push(`${at}/${name}`);
  }
  const listed = files.slice(0, 200).sort();
  if (listed.length !== 200) throw new Error(`found ${listed.length} python modules, not 200`);
  const entries = listed.map((f) => [f, createHash('sha256').update(readFileSync(f)).digest('hex')]);
  writeFileSync(path.join(dir, 'sidebundle.lock'), `${JSON.stringify({ schema: 'sidebundle/lock@1', files: Object.fromEntries(entries) }, null, 2)}\n`);
}

/** The runtime inputs of a project's resolve and trace targets, as the plugin infers them. */
function runtimeCommands(ws: string, project: string): string[] {
  const r = spawnSync(process.execPath, [path.join(ws, 'node_modules/nx/dist/bin/nx.js'), 'show', 'project', project, '--json'], {
    cwd: ws, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  });
  const targets = (JSON.parse(r.stdout) as { targets: Record<string, { inputs?: unknown[] }> }).targets;
  const runtime = (target: string) => (targets[target]!.inputs ?? []).flatMap((i) => (typeof i === 'object' && i !== null && 'runtime' in i ? [(i as { runtime: string }).runtime] : []));
  return [...new Set([...runtime('resolve'), ...runtime('trace')])];
}

/** What Nx does for one runtime input: sh -c in the workspace root; the output, and the time. */
function runtimeRun(ws: string, command: string): { ms: number; output: string } {
  const start = nowMs();
  const r = spawnSync('/bin/sh', ['-c', command], { cwd: ws, encoding: 'utf8' });
  return { ms: nowMs() - start, output: r.stdout + r.stderr };
}

/**
 * The fingerprint of a no-op: the runtime commands of the project's resolve and trace targets (each
 * named by one target, so run once per no-op; the version is an external dependency in a packed
 * install), through `sh -c` in the workspace root, process starts included. Before: the digests
 * run by Node (the commands without the native prefix); after: as the plugin infers them. Timed
 * two ways: spawned by this Node process (spawnSync forks it first; Nx's hasher, too, spawns them
 * from inside a Node process), interleaved rounds in which the two must print the same bytes; and
 * the commands alone, spawned by hyperfine -N (posix_spawn: no parent's pages to copy).
 */
async function fingerprintCost(ws: string, project: string, rounds: number): Promise<FingerprintCost> {
  const after = runtimeCommands(ws, project);
  const before = after.map((c) => c.slice(c.indexOf('node node_modules/sidebundle/dist/')));
  if (after.every((c, i) => c === before[i])) throw new Error(`the plugin inferred no native fingerprint for ${project}: ${after.join('; ')}`);
  // Records are written only for files older than a second; the second warm-up run replays.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  for (let i = 0; i < 2; i++) for (const c of after) runtimeRun(ws, c);
  const sums = { before: [] as number[], after: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const [name, commands] of [['before', before], ['after', after]] as const) {
      let total = 0;
      for (const [i, c] of commands.entries()) {
        const run = runtimeRun(ws, c);
        if (name === 'after' && run.output !== runtimeRun(ws, before[i]!).output) throw new Error(`${c} printed other bytes than ${before[i]}`);
        total += run.ms;
      }
      sums[name].push(total);
    }
  }
  const sh = (c: string) => `sh -c '${c.replace(/'/g, `'\\''`)}'`;
  // The fast commands first: harness.hyperfine reads the unit off the first result.
  const alone = hyperfine(Object.fromEntries([...after.map((c, i) => [`after ${i}`, sh(c)]), ...before.map((c, i) => [`before ${i}`, sh(c)])]), rounds * 3, { warmup: 3, cwd: ws });
  const sum = (side: string, list: string[]) => list.reduce((total, _, i) => total + alone[`${side} ${i}`]!.median, 0);
  return { before: median(sums.before), after: median(sums.after), alone: { before: sum('before', before), after: sum('after', after) }, commands: after };
}

interface FingerprintCost {
  /** Spawned by this Node process: the median of the rounds' sums over the project's commands. */
  before: number;
  after: number;
  /** Spawned by hyperfine -N: the sums of the commands' medians. */
  alone: { before: number; after: number };
  commands: string[];
}

function nxRun(ws: string): number {
  const start = nowMs();
  const r = spawnSync(process.execPath, [path.join(ws, 'node_modules/nx/dist/bin/nx.js'), 'run', 'tools:bundle'], {
    cwd: ws, stdio: 'ignore', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  });
  if (r.status !== 0) throw new Error('nx run failed');
  return nowMs() - start;
}

/** The engine rows: this build, and a baseline build interleaved with it when given. */
async function engineRows(work: string): Promise<{ ours: ReturnType<typeof summary>; baseline?: ReturnType<typeof summary>; rounds: { ours: EngineRound[]; baseline: EngineRound[] } }> {
  const baseline = process.env.NX_BENCH_BASELINE ? baselineEngine(process.env.NX_BENCH_BASELINE) : undefined;
  const rounds = { ours: [] as EngineRound[], baseline: [] as EngineRound[] };
  for (let i = 0; i < 5; i++) {
    if (baseline) rounds.baseline.push(await engine(work, `b${i}`, baseline));
    rounds.ours.push(await engine(work, `o${i}`));
  }
  return { ours: summary(rounds.ours), ...(baseline ? { baseline: summary(rounds.baseline) } : {}), rounds };
}

function engineTable(e: Awaited<ReturnType<typeof engineRows>>): string[] {
  const { cold, noop, incremental, noopCpu, incrementalCpu } = e.ours;
  const b = e.baseline;
  const was = (value: number | undefined, cpu?: number) => (value === undefined ? '' : ` (baseline ${fmt(value)}${cpu === undefined ? '' : `, CPU ${fmt(cpu)}`})`);
  return [
    `| engine, cold | ${fmt(cold)}${was(b?.cold)} | — |`,
    `| engine, no-op (every step a cache hit) | ${fmt(noop)}, CPU ${fmt(noopCpu)}${was(b?.noop, b?.noopCpu)} | ≤ 100 ms |`,
    `| engine, incremental (the project's script edited) | ${fmt(incremental)} (${((incremental / cold) * 100).toFixed(0)}% of cold), CPU ${fmt(incrementalCpu)}${b ? ` (baseline ${fmt(b.incremental)}, ${((b.incremental / b.cold) * 100).toFixed(0)}% of its cold, CPU ${fmt(b.incrementalCpu)})` : ''} | ≤ 30% of cold |`,
  ];
}

function stepTable(e: Awaited<ReturnType<typeof engineRows>>): string[] {
  const b = e.baseline?.steps;
  return [
    `| step | ${b ? 'baseline | ' : ''}this build |`,
    `| --- | ${b ? '--- | ' : ''}--- |`,
    ...e.ours.steps.map((s, i) => `| ${s.step} | ${b?.[i] ? `${b[i]!.status} ${fmt(b[i]!.ms)} | ` : b ? '— | ' : ''}${s.status} ${fmt(s.ms)} |`),
  ];
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-nx-'));
  try {
    const loadBefore = os.loadavg().map((l) => l.toFixed(2)).join(', ');
    const engineResult = await engineRows(work);
    const { cold, noop, incremental } = engineResult.ours;
    const ws = nxWorkspace(work);
    const nxCold = nxRun(ws);
    nxRun(ws); // the first trace wrote sidebundle.lock: this run hashes the new list once
    const nxNoop = median([nxRun(ws), nxRun(ws), nxRun(ws), nxRun(ws), nxRun(ws)]);
    const tools = await fingerprintCost(ws, 'tools', 11);
    lock200Project(ws);
    const lock200 = await fingerprintCost(ws, 'lock200', 11);
    const lock = JSON.parse(readFileSync(path.join(ws, 'apps/tools/sidebundle.lock'), 'utf8')) as { files: object; listings?: object };
    const locked = Object.keys(lock.files).length;
    const listings = Object.keys(lock.listings ?? {}).length;
    const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
    const baseline = process.env.NX_BENCH_BASELINE;
    writeResults('nx', [
      '# Rebundle costs: engine step cache and Nx',
      '',
      'Engine: a bundle of `/usr/bin/python3` (traced with `import json, sqlite3, ssl`), `/usr/bin/jq` and the',
      "project's own shell script (traced), through in-process `bundle()` with a StepCache; medians of 5 rounds,",
      'each with a fresh cache (CPU: user + system of the process during the run). Incremental: the script is edited,',
      'as a developer does between two bundles: resolve reruns (unchanged system files cost a stat), the script\'s',
      "trace reruns while python's is reused, collection is reused (keyed on the closures' paths and ELF facts, not",
      "on the script's bytes), and package writes the bundle again, hard-linking the content the cache already holds.",
      ...(baseline ? [`Baseline: the build in \`${path.basename(path.dirname(path.resolve(baseline)))}\` (${process.env.NX_BENCH_BASELINE_NAME ?? 'an earlier commit'}), its rounds interleaved with this build's.`] : []),
      'Nx: python3 + jq through `nx run tools:bundle` in a workspace installed from `npm pack`, daemon off.',
      '',
      '| run | measured | target |',
      '| --- | --- | --- |',
      ...engineTable(engineResult),
      `| \`nx run tools:bundle\`, cold (engine + Nx) | ${fmt(nxCold)} | — |`,
      `| \`nx run tools:bundle\`, no-op (all 5 tasks from Nx's cache) | ${fmt(nxNoop)} | — |`,
      `| … of which the fingerprint (resolve and trace runtime inputs), before: \`node … digest\` | ${fmt(tools.before)} (alone ${fmt(tools.alone.before)}) | — |`,
      `| … of which the fingerprint, after: \`sidebundle-fingerprint\` replaying the digests' records | ${fmt(tools.after)} (alone ${fmt(tools.alone.after)}) | ≤ 50 ms |`,
      `| fingerprint of a no-op, lock of 200 traced files (\`apps/lock200\`), before | ${fmt(lock200.before)} (alone ${fmt(lock200.alone.before)}) | — |`,
      `| fingerprint of a no-op, lock of 200 traced files, after | ${fmt(lock200.after)} (alone ${fmt(lock200.alone.after)}) | ≤ 50 ms |`,
      '',
      'The incremental run step by step, medians over the rounds. A step says hit or run once its cache lookup is done,',
      "and a row runs from that moment to the next step's, so it also holds the next step's key and lookup: the check",
      "of collection's recorded reads (every path and listing, on a hit) is in the row before collect.",
      '',
      ...stepTable(engineResult),
      '',
      `The fingerprint rows time the project's runtime commands as Nx runs them (\`sh -c\` in the workspace root,`,
      'process starts included), each once per no-op, spawned by the bench\'s Node process (spawnSync forks it first; Nx\'s',
      'hasher, too, spawns them from inside a Node process, Nx\'s): medians of 11 interleaved rounds; "before" runs the digests with Node',
      '(the commands the plugin inferred until now), "after" the commands it infers now, which printed the same bytes',
      `in every round. "Alone": the same commands spawned by \`hyperfine -N\` (posix_spawn, no parent's pages to copy),`,
      `the sums of their medians over 33 runs each. The tools lock lists ${locked} paths (the traced and collected Python standard`,
      `library, probes) and ${listings} directories collection listed. Load average before the engine rows: ${loadBefore}; after the run: ${load}.`,
    ].join('\n'), { engine: engineResult, cold, noop, incremental, nxCold, nxNoop, fingerprint: { tools, lock200 }, locked, listings, load, loadBefore });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
