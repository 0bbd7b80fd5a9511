// Core engine benchmarks (issue: core engine): ELF reads, closure of curl against ldd, and a cold
// bundle of jq+curl+git and of 30 programs against the floor of copying and hashing the same files.
import * as os from 'node:os';
import * as path from 'node:path';

import { readFileSync } from 'node:fs';

import { DigestMemo } from '../lib/cache/file-digest';
import { MemoTable } from '../lib/cache/memo-table';
import { readElf } from '../lib/elf';
import { buildClosure } from '../lib/resolve/closure';
import { resolveClosure } from '../lib/resolve/resolve';
import { userCacheDir } from '../lib/util/cache-dir';
import { bundleAgainstFloor, floorRows, verifyAgainstFloor, VERIFY_FLOOR } from './bundle-floor';
import { cliArgv, fmt, median, sideBySide, timeAsync, timeCommand, writeResults } from './harness';

const CLI = path.resolve(__dirname, '../lib/cli/bin.js');
const NODE_BIN = '/usr/bin/node';
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
/** 30 programs of this machine with no interpreter's library to collect (104 files, 112 MiB here). */
const THIRTY = ['git', 'curl', 'jq', 'bash', 'tar', 'gzip', 'xz', 'zstd', 'ssh', 'openssl', 'sqlite3', 'make', 'gpg', 'wget', 'awk', 'sed', 'grep', 'find', 'file', 'less', 'vim.basic', 'strace', 'patchelf', 'readelf', 'objdump', 'ld.bfd', 'as', 'hyperfine', 'cmake', 'skopeo'];

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
    'sidebundle resolve': () => timeCommand([...cliArgv(CLI), 'resolve', '--from-host', '/usr/bin/curl']),
    'node -e 0': () => timeCommand([process.execPath, '-e', '0']),
  }, 15);
  data.cliVsLdd = cli;
  rows.push(`| \`ldd /usr/bin/curl\` (process) | ${fmt(cli.ldd!.median)} | — |`);
  rows.push(`| \`sidebundle resolve --from-host /usr/bin/curl\` (process) | ${fmt(cli['sidebundle resolve']!.median)} (of which Node start-up \`node -e 0\`: ${fmt(cli['node -e 0']!.median)}) | — |`);

  // 3. Whole `create` processes (Node's start-up included) against the floor, cp + sha256sum of
  // the same files: jq+curl+git, and 30 programs. SIDEBUNDLE_BENCH_BASELINE=path/to/bin.js
  // (another build, e.g. the previous commit's) runs cold beside this one.
  const baseline = process.env.SIDEBUNDLE_BENCH_BASELINE;
  const small = bundleAgainstFloor(CLI, ['/usr/bin/jq', '/usr/bin/curl', '/usr/bin/git'], 9, baseline);
  const large = bundleAgainstFloor(CLI, THIRTY.map((p) => `/usr/bin/${p}`), 5, baseline);
  data.coldBundle = small;
  data.thirtyPrograms = large;
  const load = os.loadavg().map((x) => x.toFixed(2)).join(', ');
  // The warm rows use the user's cache, which other runs fill too: how full its memo was.
  const cacheDir = userCacheDir();
  const memoStates = new MemoTable(path.join(cacheDir, 'memo.bin'), path.join(cacheDir, 'tmp'), readFileSync(path.join(cacheDir, 'memo.key'))).count();
  data.memoStates = memoStates;
  data.loadAverage = os.loadavg();
  rows.push(...floorRows('jq+curl+git', small), ...floorRows('30 programs', large));
  // 4. verify of the 30 programs' bundle: every file hashed (on the native hasher's threads).
  const verified = verifyAgainstFloor(CLI, THIRTY.map((p) => `/usr/bin/${p}`), 7);
  data.verify = verified;
  rows.push(...floorRows('verify, 30 programs', verified, VERIFY_FLOOR));

  writeResults('core', [
    '# Core engine benchmarks',
    '',
    'Medians; page cache warm; contenders run interleaved in the same rounds. `npm run bench:core` regenerates this file.',
    'Whole processes (`create`, the floor, `node -e 0`) include Node\'s start-up; "cold" is a fresh step cache every run, the CLI\'s code cache kept from its earlier runs, and "the CLI\'s first run" a fresh XDG_CACHE_HOME, without a code cache either (bench/bundle-floor.ts);',
    `"cache of an earlier run" is the user's cache (${cacheDir}), whose digest memo held ${memoStates} file states at the end (of 20,000 at most); "baseline" is the build given in SIDEBUNDLE_BENCH_BASELINE${baseline ? ` (${baseline})` : ''};`,
    `ratios are to the floor measured in the same round (the median of the per-round ratios); CPU is user + system. Load average at the end: ${load} (2 cores, shared).`,
    `30 programs: ${THIRTY.join(' ')}.`,
    '',
    '| what | measured | target / ratio to the floor |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n'), data);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
