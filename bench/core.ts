// Core engine benchmarks (issue: core engine): ELF reads, closure of curl against ldd, and a cold
// bundle of jq+curl+git against the floor of copying and hashing the same files.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DigestMemo } from '../lib/cache/file-digest';
import { readElf } from '../lib/elf';
import { buildClosure } from '../lib/resolve/closure';
import { resolveClosure } from '../lib/resolve/resolve';
import { fmt, median, sideBySide, timeAsync, timeCommand, writeResults } from './harness';

const CLI = path.resolve(__dirname, '../lib/cli/main.js');
const NODE_BIN = '/usr/bin/node';
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';

async function main(): Promise<void> {
  const rows: string[] = [];
  const data: Record<string, unknown> = {};

  // 1. ELF dependency read, in process (warm page cache; first call includes JIT warm-up).
  for (const file of [NODE_BIN, LIBC]) {
    const first = await timeAsync(() => readElf(file), 1);
    const warm = await timeAsync(() => readElf(file), 200);
    data[`readElf ${file}`] = { first: first[0], median: median(warm) };
    rows.push(`| readElf ${file} | ${fmt(median(warm))} (first call ${fmt(first[0]!)}) | < 5 ms |`);
  }
  // elfinfo, the named dependency, on libc only (it parses every symbol; on node it took 76 s).
  const elfinfo = require('elfinfo') as { open(p: string): Promise<unknown> };
  const elfinfoLibc = await timeAsync(() => elfinfo.open(LIBC), 3);
  data['elfinfo libc'] = median(elfinfoLibc);
  rows.push(`| elfinfo.open ${LIBC} (for comparison) | ${fmt(median(elfinfoLibc))} | — |`);

  // 2. Closure of curl: in process, then the whole CLI process against ldd.
  const closureOnly = await timeAsync(() => buildClosure({ entries: [{ path: '/usr/bin/curl' }] }), 50);
  const withDigests = await timeAsync(() => resolveClosure({ entries: [{ path: '/usr/bin/curl' }], digests: new DigestMemo() }), 10);
  const memo = new DigestMemo();
  await resolveClosure({ entries: [{ path: '/usr/bin/curl' }], digests: memo });
  const memoized = await timeAsync(() => resolveClosure({ entries: [{ path: '/usr/bin/curl' }], digests: memo }), 20);
  const libs = buildClosure({ entries: [{ path: '/usr/bin/curl' }] }).files.length - 2;
  data.curlClosure = { libraries: libs, closureMs: median(closureOnly), withDigestsMs: median(withDigests), memoizedMs: median(memoized) };
  rows.push(`| closure of /usr/bin/curl (${libs} libraries), in process | ${fmt(median(closureOnly))} | — |`);
  rows.push(`| … with sha256 of every file (cold memo / memoized) | ${fmt(median(withDigests))} / ${fmt(median(memoized))} | — |`);
  const cli = await sideBySide({
    ldd: () => timeCommand(['ldd', '/usr/bin/curl']),
    'sidebundle resolve': () => timeCommand([process.execPath, CLI, 'resolve', '--from-host', '/usr/bin/curl']),
    'node -e 0': () => timeCommand([process.execPath, '-e', '0']),
  }, 15);
  data.cliVsLdd = cli;
  rows.push(`| \`ldd /usr/bin/curl\` (process) | ${fmt(cli.ldd!.median)} | — |`);
  rows.push(`| \`sidebundle resolve --from-host /usr/bin/curl\` (process) | ${fmt(cli['sidebundle resolve']!.median)} (of which Node start-up \`node -e 0\`: ${fmt(cli['node -e 0']!.median)}) | — |`);

  // 3. Cold bundle of jq+curl+git against the floor: cp + sha256sum of the same files.
  const closure = buildClosure({ entries: ['/usr/bin/jq', '/usr/bin/curl', '/usr/bin/git'].map((p) => ({ path: p })) });
  const files = closure.files.map((f) => f.path);
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-'));
  let round = 0;
  const bundleRun = () => {
    const out = path.join(work, `b${round++}`);
    const t = timeCommand([process.execPath, CLI, 'create', '--name', 'b', '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/curl', '--from-host', '/usr/bin/git', '--out-dir', out]);
    rmSync(out, { recursive: true, force: true });
    return t;
  };
  const floorRun = () => {
    const dest = path.join(work, `f${round++}`);
    const t = timeCommand([`mkdir -p ${dest} && cp --preserve=mode ${files.join(' ')} ${dest}/ && sha256sum ${files.join(' ')} > /dev/null`], { shell: true });
    rmSync(dest, { recursive: true, force: true });
    return t;
  };
  const cold = await sideBySide({ 'sidebundle create (jq+curl+git)': bundleRun, 'floor: cp + sha256sum': floorRun, 'node -e 0': () => timeCommand([process.execPath, '-e', '0']) }, 9);
  rmSync(work, { recursive: true, force: true });
  const ratio = cold['sidebundle create (jq+curl+git)']!.median / cold['floor: cp + sha256sum']!.median;
  const netRatio = (cold['sidebundle create (jq+curl+git)']!.median - cold['node -e 0']!.median) / cold['floor: cp + sha256sum']!.median;
  data.coldBundle = { files: files.length, ...cold, ratio, ratioWithoutNodeStartup: netRatio };
  rows.push(`| cold bundle jq+curl+git (${files.length} files), whole CLI process | ${fmt(cold['sidebundle create (jq+curl+git)']!.median)} | ≤ 2× floor |`);
  rows.push(`| floor: \`cp\` + \`sha256sum\` of the same files | ${fmt(cold['floor: cp + sha256sum']!.median)} | — |`);
  rows.push(`| ratio bundle / floor (without Node's own start-up) | ${ratio.toFixed(2)}× (${netRatio.toFixed(2)}×) | ≤ 2× |`);

  writeResults('core', [
    '# Core engine benchmarks',
    '',
    'Medians; page cache warm; contenders run interleaved in the same rounds. `npm run bench:core` regenerates this file.',
    '',
    '| what | measured | target |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n'), data);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
