// Rebundle costs (issue: Nx plugin): a python3 + jq bundle through the engine with its step
// cache — cold, no-op, and incremental (a changed trace command) — and the same no-op through
// `nx run` in a real workspace installed from `npm pack`, to show Nx's own share.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { bundle } from '../lib/bundle';
import { StepCache } from '../lib/cache/step-cache';
import type { EntrySpec } from '../lib/entries/spec';
import { fmt, median, nowMs, writeResults } from './harness';

const repo = path.resolve(__dirname, '../..');

/** The project's own script: what a developer edits between two bundles. */
function writeScript(file: string, version: number): void {
  writeFileSync(file, `#!/bin/sh\necho "report v${version}: $(jq -n '[1, 2, 3] | add')"\n`, { mode: 0o755 });
}

async function engine(work: string, round: number) {
  const cache = new StepCache(path.join(work, `cache-${round}`));
  const outDir = path.join(work, `out-${round}`);
  const script = path.join(work, `src-${round}`, 'report.sh');
  mkdirSync(path.dirname(script), { recursive: true });
  const entries: EntrySpec[] = [
    { source: 'host', path: '/usr/bin/python3', trace: ['/usr/bin/python3', '-c', 'import json, sqlite3, ssl'] },
    { source: 'host', path: '/usr/bin/jq' },
    { source: 'host', path: script, trace: [script] },
  ];
  const run = async () => {
    const start = nowMs();
    await bundle({ name: 'tools', entries, outDir, traceBackend: 'ptrace', traceInclude: [path.dirname(script)] }, { cache });
    return nowMs() - start;
  };
  writeScript(script, 1);
  const cold = await run();
  const noop = await run();
  writeScript(script, 2);
  const incremental = await run();
  return { cold, noop, incremental };
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

function nxRun(ws: string): number {
  const start = nowMs();
  const r = spawnSync(process.execPath, [path.join(ws, 'node_modules/nx/dist/bin/nx.js'), 'run', 'tools:bundle'], {
    cwd: ws, stdio: 'ignore', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  });
  if (r.status !== 0) throw new Error('nx run failed');
  return nowMs() - start;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-nx-'));
  try {
    const rounds = [];
    for (let i = 0; i < 5; i++) rounds.push(await engine(work, i));
    const cold = median(rounds.map((r) => r.cold));
    const noop = median(rounds.map((r) => r.noop));
    const incremental = median(rounds.map((r) => r.incremental));
    const ws = nxWorkspace(work);
    const nxCold = nxRun(ws);
    nxRun(ws); // the first trace wrote sidebundle.lock: this run hashes the new list once
    const nxNoop = median([nxRun(ws), nxRun(ws), nxRun(ws), nxRun(ws), nxRun(ws)]);
    const digestRun = (...extra: string[]) => median([0, 1, 2, 3, 4].map(() => {
      const start = nowMs();
      execFileSync(process.execPath, [path.join(ws, 'node_modules/sidebundle/dist/lib/cli/main.js'), 'digest', '--config', 'apps/tools/sidebundle.json', ...extra], { cwd: ws });
      return nowMs() - start;
    }));
    const digest = digestRun();
    const tracedDigest = digestRun('--traced');
    const locked = Object.keys((JSON.parse(readFileSync(path.join(ws, 'apps/tools/sidebundle.lock'), 'utf8')) as { files: object }).files).length;
    writeResults('nx', [
      '# Rebundle costs: engine step cache and Nx',
      '',
      'Engine: a bundle of `/usr/bin/python3` (traced with `import json, sqlite3, ssl`), `/usr/bin/jq` and the',
      "project's own shell script (traced), through in-process `bundle()` with a StepCache; medians of 5 rounds,",
      'each with a fresh cache. Incremental: the script is edited, as a developer does between two bundles: resolve',
      "reruns (unchanged system files cost a stat), the script's trace reruns while python's is reused, and package",
      'hard-links the content the cache already holds. Nx: python3 + jq through `nx run tools:bundle` in a workspace',
      'installed from `npm pack`, daemon off.',
      '',
      '| run | measured | target |',
      '| --- | --- | --- |',
      `| engine, cold | ${fmt(cold)} | — |`,
      `| engine, no-op (every step a cache hit) | ${fmt(noop)} | ≤ 100 ms |`,
      `| engine, incremental (the project's script edited) | ${fmt(incremental)} (${((incremental / cold) * 100).toFixed(0)}% of cold) | ≤ 30% of cold |`,
      `| \`nx run tools:bundle\`, cold (engine + Nx) | ${fmt(nxCold)} | — |`,
      `| \`nx run tools:bundle\`, no-op (all 5 tasks from Nx's cache) | ${fmt(nxNoop)} | — |`,
      `| … of which the \`sidebundle digest\` runtime input (resolve) | ${fmt(digest)} | — |`,
      `| … and \`sidebundle digest --traced\` (trace: the ${locked} files sidebundle.lock lists) | ${fmt(tracedDigest)} | ≤ 50 ms |`,
    ].join('\n'), { rounds, cold, noop, incremental, nxCold, nxNoop, digest, tracedDigest, locked });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
