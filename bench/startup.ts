// CLI start-up against its floor and its peers (issue 13, part 2): `node -e 0`, `sidebundle
// --version`, and `sidebundle resolve` beside `ldd` and pax-utils' `lddtree` on the same program.
// Whole processes timed by hyperfine, every contender in each invocation; many short rounds
// (a few runs of each, the order rotated every round), pooled, so load that comes and goes
// during the run lands on all of them alike.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cliArgv, fmt, median, writeResults } from './harness';

/** The shipped command: the bundled CLI with its code cache. */
const CLI = path.resolve(__dirname, '../lib/cli/bin.js');
/** The same CLI as tsc's modules (what the bundle is made of), timed beside it. */
const MODULES_CLI = path.resolve(__dirname, '../lib/cli/main.js');
const PROGRAM = '/usr/bin/jq';
// Short rounds: hyperfine runs all of one command's runs before the next command's, so on a
// shared machine long rounds give each contender a different slice of the load.
const ROUNDS = Number(process.env.SB_BENCH_ROUNDS ?? 15);
const RUNS_PER_ROUND = Number(process.env.SB_BENCH_RUNS ?? 3);
const WARMUP = 1;
/**
 * Other builds of the CLI to time beside this one, as LABEL=PATH,... (e.g. a checkout of an
 * older commit, or an experimental bundle); SB_STARTUP_BEFORE_CLI=PATH is "before=PATH".
 */
const OTHER_CLIS: Array<{ label: string; cli: string }> = [
  { label: 'modules', cli: MODULES_CLI },
  ...(process.env.SB_STARTUP_BEFORE_CLI ? [{ label: 'before', cli: process.env.SB_STARTUP_BEFORE_CLI }] : []),
  ...(process.env.SB_STARTUP_OTHER_CLIS ?? '')
    .split(',')
    .filter((pair) => pair.includes('='))
    .map((pair) => ({ label: pair.slice(0, pair.indexOf('=')), cli: pair.slice(pair.indexOf('=') + 1) })),
];

interface Contender {
  name: string;
  argv: string[];
}

interface Measured {
  name: string;
  command: string;
  times: number[];
  /** hyperfine's mean user+system CPU per run of each round, ms (less sensitive to other
   * processes than wall time); the table shows their median. */
  cpu: number[];
}

/** A program on PATH, or undefined. */
function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, program);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

// lddtree is a Python script for Debian's python3 (it needs python3-pyelftools); `env python3`
// may find a pyenv or virtualenv python without it, so name the system interpreter.
function lddtreeArgv(): string[] | undefined {
  const script = which('lddtree');
  if (!script) return undefined;
  const firstLine = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  return /python3/.test(firstLine) && existsSync('/usr/bin/python3') ? ['/usr/bin/python3', script] : [script];
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function contenders(): { list: Contender[]; skipped: string[] } {
  const node = process.execPath;
  const list: Contender[] = [
    { name: 'node -e 0', argv: [node, '-e', '0'] },
    { name: 'sidebundle --version', argv: [...cliArgv(CLI), '--version'] },
    { name: `sidebundle resolve --from-host ${PROGRAM}`, argv: [...cliArgv(CLI), 'resolve', '--from-host', PROGRAM] },
  ];
  for (const { label, cli } of OTHER_CLIS) {
    list.push(
      { name: `${label}: sidebundle --version`, argv: [...cliArgv(cli), '--version'] },
      { name: `${label}: sidebundle resolve --from-host ${PROGRAM}`, argv: [...cliArgv(cli), 'resolve', '--from-host', PROGRAM] },
    );
  }
  const skipped: string[] = [];
  const ldd = which('ldd');
  if (ldd) list.push({ name: `ldd ${PROGRAM}`, argv: [ldd, PROGRAM] });
  else skipped.push('ldd (not on PATH)');
  const lddtree = lddtreeArgv();
  if (lddtree) list.push({ name: `lddtree ${PROGRAM}`, argv: [...lddtree, PROGRAM] });
  else skipped.push('lddtree (apt-get install pax-utils)');
  return { list, skipped };
}

/** One hyperfine invocation over every contender (-N: no shell in between), starting with the
 * `round`-th (mod the count); results in `list` order. */
function hyperfineRound(list: Contender[], work: string, round: number, env: NodeJS.ProcessEnv): Array<{ times: number[]; cpu: number }> {
  const out = path.join(work, `round-${round}.json`);
  const order = list.map((_, i) => (i + round) % list.length);
  const commands = order.map((i) => list[i]!.argv.map(quote).join(' '));
  const result = spawnSync('hyperfine', ['-N', '--warmup', String(WARMUP), '--runs', String(RUNS_PER_ROUND), '--style', 'none', '--export-json', out, ...commands], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (result.status !== 0) throw new Error(`hyperfine failed (${result.status ?? result.signal}): is every contender working? ${commands.join(' | ')}`);
  const parsed = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ times: number[]; user: number; system: number }> };
  const results = parsed.results.map((r) => ({ times: r.times.map((t) => t * 1000), cpu: (r.user + r.system) * 1000 }));
  return list.map((_, i) => results[order.indexOf(i)]!);
}

function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

/** The contenders' medians and ratios as a markdown table. */
function table(measured: Measured[]): string[] {
  const byName = (prefix: string) => measured.find((m) => m.name.startsWith(prefix));
  const floor = byName('node -e 0')!;
  const lddtree = byName('lddtree');
  const floorMedian = median(floor.times);
  const targets: Record<string, string> = {
    'sidebundle --version': '≤ 1.1× node -e 0',
    'sidebundle resolve': '≤ 1.3× node -e 0, ≤ 1× lddtree',
  };
  const vsLddtreeCpu = (m: Measured) => (lddtree && /^([\w-]+: )?sidebundle resolve/.test(m.name) ? `; ${ratio(median(m.cpu), median(lddtree.cpu))} lddtree` : '');
  return [
    '| command | median | min – max | ratio to `node -e 0` (wall, medians) | CPU per run (ratio) | target |',
    '| --- | --- | --- | --- | --- | --- |',
    ...measured.map((m) => {
      const med = median(m.times);
      const vsLddtree = lddtree && /^([\w-]+: )?sidebundle resolve/.test(m.name) ? ` (${ratio(med, median(lddtree.times))} lddtree)` : '';
      const target = Object.entries(targets).find(([prefix]) => m.name.startsWith(prefix))?.[1] ?? '—';
      return `| \`${m.name}\` | ${fmt(med)} | ${fmt(Math.min(...m.times))} – ${fmt(Math.max(...m.times))} | ${ratio(med, floorMedian)}${vsLddtree} | ${fmt(median(m.cpu))} (${ratio(median(m.cpu), median(floor.cpu))}${vsLddtreeCpu(m)}) | ${target} |`;
    }),
  ];
}

function main(): void {
  if (!which('hyperfine')) {
    process.stderr.write('bench/startup: hyperfine is not installed (apt-get install hyperfine); skipped\n');
    return;
  }
  const { list, skipped } = contenders();
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-startup-'));
  const loadBefore = loadAverage();
  // NODE_EXTRA_CA_CERTS makes every Node process read and parse those certificates at start-up
  // (tens of ms of CPU, `node -e 0` included). Where it is set, every round runs twice, with and
  // without it: the ratios differ, since the fixed cost lands on both sides.
  const certs = process.env.NODE_EXTRA_CA_CERTS;
  const withoutCerts: NodeJS.ProcessEnv = { ...process.env };
  delete withoutCerts.NODE_EXTRA_CA_CERTS;
  const envs = certs ? [process.env, withoutCerts] : [process.env];
  const measured = envs.map(() => list.map((c): Measured => ({ name: c.name, command: c.argv.join(' '), times: [], cpu: [] })));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      envs.forEach((env, e) =>
        hyperfineRound(list, work, round * envs.length + e, env).forEach((r, i) => {
          measured[e]![i]!.times.push(...r.times);
          measured[e]![i]!.cpu.push(r.cpu);
        }),
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const loadAfter = loadAverage();
  const cores = os.cpus().length;
  const loaded = Math.max(loadBefore[0]!, loadAfter[0]!) > cores / 2; // the 1-minute averages
  const tables = certs
    ? [`With this machine's environment, where NODE_EXTRA_CA_CERTS is set (${certs}):`, '', ...table(measured[0]!), '', 'The same rounds without NODE_EXTRA_CA_CERTS (Node\'s own start-up alone):', '', ...table(measured[1]!)]
    : table(measured[0]!);
  const markdown = `# CLI start-up

Whole processes, timed by hyperfine (\`-N\`, ${WARMUP} warm-up run of each) with every contender in each
of ${ROUNDS} short invocations of ${RUNS_PER_ROUND} runs (the order rotated each time), pooled (${ROUNDS * RUNS_PER_ROUND} runs each);
page cache warm. Ratios are against \`node -e 0\` measured in the same invocations. CPU is the
median over the invocations of hyperfine's mean user+system time per run: other processes on
the machine stretch wall time far more than CPU time, so on a busy machine the CPU ratio is the
steadier of the two. \`npm run bench:startup\` regenerates this file.

${tables.join('\n')}

\`sidebundle\` is the shipped command, dist/lib/cli/bin.js, started as a user's shell starts it (by its
#! line: a few lines of sh that keep NODE_EXTRA_CA_CERTS from Node's start-up, then node): the
command's own bundle (main.js and what that command requires, in one file), run with V8's code cache that bin.js keeps under
$XDG_CACHE_HOME/sidebundle/code-cache (each command's written by its warm-up run).
${OTHER_CLIS.map(({ label, cli }) => `\n"${label}:" rows run ${label === 'modules' ? 'the same CLI unbundled, as tsc built it (' : 'another build\'s CLI ('}\`${cli}\`) in the same invocations.\n`).join('')}${skipped.length ? `\nNot measured: ${skipped.join(', ')}.\n` : ''}
Machine load (1/5/15-minute load average, ${cores} cores): ${loadBefore.join(' / ')} before, ${loadAfter.join(' / ')} after${loaded ? ' — **the machine was loaded** (other work was running): absolute times are inflated and noisy; the side-by-side ratios are the figures to read' : ''}.`;
  writeResults('startup', markdown, { rounds: ROUNDS, runsPerRound: RUNS_PER_ROUND, loadBefore, loadAfter, cores, extraCaCerts: certs ?? null, results: measured[0], resultsWithoutExtraCaCerts: certs ? measured[1] : undefined });
}

main();
