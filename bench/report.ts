// Report generation time for a bundle of about 2,000 files (perl with its collected core
// library; target ≤ 1 s), against two baselines measured in the same run, interleaved: parsing
// its manifest.lock alone, and `sidebundle verify` (which re-hashes every file) end to end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { readManifest } from '../lib/inspect/manifest-files';
import { reportData, writeReport } from '../lib/report';
import { renderReportHtml } from '../lib/report/html';
import { cliArgv, fmt, machine, nowMs, sideBySide, timeCommand, writeResults } from './harness';

const timed = (fn: () => unknown) => () => {
  const start = nowMs();
  fn();
  return nowMs() - start;
};

const cli = path.resolve(__dirname, '../lib/cli/bin.js');

async function main(): Promise<void> {
  const load = execFileSync('uptime', { encoding: 'utf8' }).trim();
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-report-'));
  try {
    execFileSync(process.execPath, [cli, 'create', '--name', 'perl', '--out-dir', work, '--no-cache', '--from-host', '/usr/bin/perl::trace=/usr/bin/perl -e 1'], { stdio: 'ignore' });
    const dir = path.join(work, 'perl');
    const files = reportData(dir).totals.files;
    const out = path.join(work, 'perl.report.html');
    const inProcess = await sideBySide({
      'manifest.lock parse (baseline)': timed(() => readManifest(dir)),
      'report data (manifest + ELF scan)': timed(() => reportData(dir)),
      'report data + HTML': timed(() => renderReportHtml(reportData(dir))),
      'writeReport (to disk)': timed(() => writeReport(dir, out)),
    }, 15);
    const cliRuns = await sideBySide({
      'sidebundle verify DIR (baseline)': () => timeCommand([...cliArgv(cli), 'verify', dir]),
      'sidebundle report DIR': () => timeCommand([...cliArgv(cli), 'report', dir, '--out', out]),
    }, 7);
    const base = inProcess['manifest.lock parse (baseline)']!.median;
    const verify = cliRuns['sidebundle verify DIR (baseline)']!.median;
    const rows = [
      ...Object.entries(inProcess).map(([name, t]) => `| ${name} | ${fmt(t.median)} | ${(t.median / base).toFixed(1)}× parse |`),
      ...Object.entries(cliRuns).map(([name, t]) => `| ${name} (process) | ${fmt(t.median)} | ${(t.median / verify).toFixed(2)}× verify |`),
    ];
    const markdown = [
      `# Report generation (${files} files, perl bundle)`,
      '',
      `${machine()}; medians of interleaved runs. Target: ≤ 1 s for 2,000 files.`,
      '',
      '| what | median | ratio |',
      '| --- | --- | --- |',
      ...rows,
      '',
      'The machine was shared with other jobs; `uptime` before and after:',
      '',
      `    ${load}`,
      `    ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`,
    ].join('\n');
    writeResults('report', markdown, { files, inProcess, cli: cliRuns });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
