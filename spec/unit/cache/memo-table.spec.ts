// The digest memo on disk (memo-table.ts): it survives a restart, a damaged or forged table is
// not believed (its files are hashed again), and it never holds more than its cap.
import { createHash } from 'node:crypto';
import { linkSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DigestMemo, statKey, type MemoEntry } from '../../../lib/cache/digest-memo';
import { encodeTable, MemoTable } from '../../../lib/cache/memo-table';
import { StepCache } from '../../../lib/cache/step-cache';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sb-memo-table-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const fakes = (from: number, count: number): MemoEntry[] =>
  Array.from({ length: count }, (_, i) => ({ key: `999999:${from + i}:1:1:1`, digest: { sha256: (from + i).toString(16).padStart(64, '0'), size: 1 } }));

function file(name: string, text: string): string {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
}

test('what one run hashed, the next knows from a stat (no read)', async () => {
  const a = file('a', 'alpha');
  const b = file('b', 'beta');
  const first = new StepCache(path.join(dir, 'cache'));
  await first.digests.digest(a);
  await first.digests.digest(b);
  first.saveMemo();

  const second = new StepCache(path.join(dir, 'cache'));
  expect(second.digests.known(a)).toEqual({ sha256: sha('alpha'), size: 5 });
  expect(second.digests.known(b)).toEqual({ sha256: sha('beta'), size: 4 });
  utimesSync(b, new Date(1000), new Date(1000)); // a new state of b: not known
  expect(second.digests.known(b)).toBeUndefined();
});

test('a changed file keeps one entry, its latest state', async () => {
  const a = file('a', 'one');
  const memo = new DigestMemo(Date.now, new MemoTable(path.join(dir, 'memo.bin'), dir, Buffer.alloc(32, 1)));
  await memo.digest(a);
  memo.save();
  writeFileSync(a, 'two!');
  await memo.digest(a);
  memo.save();
  const reloaded = new MemoTable(path.join(dir, 'memo.bin'), dir, Buffer.alloc(32, 1));
  expect(reloaded.count()).toBe(1);
  expect(new DigestMemo(Date.now, reloaded).known(a)).toEqual({ sha256: sha('two!'), size: 4 });
});

describe.each([
  ['a flipped byte', (table: string) => {
    const bytes = readFileSync(table);
    bytes[bytes.length - 40] ^= 1; // inside the last record's digest
    writeFileSync(table, bytes);
  }],
  ['a torn write (truncated)', (table: string) => truncateSync(table, statSync(table).size - 30)],
  ['a table made without the key', (table: string, a: string) => {
    writeFileSync(table, encodeTable([{ key: statKey(statSync(a, { bigint: true })), digest: { sha256: sha('forged'), size: 5 } }], Buffer.alloc(32, 9)));
  }],
])('a memo with %s', (_how, damage) => {
  test('is not believed: its files are hashed again and the table written anew', async () => {
    const a = file('a', 'alpha');
    const cacheDir = path.join(dir, 'cache');
    const first = new StepCache(cacheDir);
    await first.digests.digest(a);
    first.saveMemo();
    damage(path.join(cacheDir, 'memo.bin'), a);

    const second = new StepCache(cacheDir);
    expect(second.digests.known(a)).toBeUndefined();
    expect(await second.digests.digest(a)).toEqual({ sha256: sha('alpha'), size: 5 });
    second.saveMemo();
    expect(new StepCache(cacheDir).digests.known(a)).toEqual({ sha256: sha('alpha'), size: 5 });
  });
});

test('a file whose digest proved wrong is forgotten on disk too', async () => {
  const a = file('a', 'alpha');
  const cacheDir = path.join(dir, 'cache');
  const first = new StepCache(cacheDir);
  await first.digests.digest(a);
  first.saveMemo();
  const second = new StepCache(cacheDir);
  second.digests.forget(a);
  second.saveMemo();
  expect(new StepCache(cacheDir).digests.known(a)).toBeUndefined();
});

test('the cap holds: never more than max states, the least recently used dropped', () => {
  const table = (max: number) => new MemoTable(path.join(dir, 'memo.bin'), dir, Buffer.alloc(32, 2), max);
  for (let run = 0; run < 30; run++) table(200).save(fakes(run * 50, 50), []);
  expect(table(200).count()).toBeLessThanOrEqual(200);
  expect(table(200).count()).toBeGreaterThanOrEqual(180); // trimmed to 90%, then filled again
  expect(table(200).find(`999999:${29 * 50 + 49}`)).toBeDefined(); // the newest stays
  expect(table(200).find('999999:0')).toBeUndefined();
});

test('the default cap is 20,000 states', () => {
  const memo = new MemoTable(path.join(dir, 'memo.bin'), dir, Buffer.alloc(32, 3));
  memo.save(fakes(0, 20_000), []);
  expect(memo.count()).toBe(20_000);
  memo.save(fakes(20_000, 1), []);
  expect(memo.count()).toBeLessThanOrEqual(20_000);
  expect(memo.find('999999:20000')).toBeDefined();
});

test('a save merges with what another run saved since this one read the table', () => {
  const open = () => new MemoTable(path.join(dir, 'memo.bin'), dir, Buffer.alloc(32, 4));
  open().save(fakes(0, 1), []);
  const mine = open();
  const theirs = open();
  expect(mine.find('999999:0')).toBeDefined(); // both have read the table
  expect(theirs.find('999999:0')).toBeDefined();
  theirs.save(fakes(100, 1), []);
  mine.save(fakes(200, 1), []);
  const after = open();
  expect(after.count()).toBe(3);
  for (const inode of ['999999:0', '999999:100', '999999:200']) expect(after.find(inode)).toBeDefined();
});

test('a file renamed over the path while it is hashed does not give its digest to the old inode', async () => {
  const at = file('swapped', 'old bytes');
  const keep = path.join(dir, 'old-link');
  linkSync(at, keep); // the old inode lives on under another name
  const replacement = file('replacement', 'new bytes');
  // The memo reads its clock between the stat and the read: the swap happens exactly there.
  // What it stores under the old state can never match again: the rename unlinked the old inode
  // from this path, which changed its ctime, part of every state key.
  let swap = true;
  const memo = new DigestMemo(() => {
    if (swap) renameSync(replacement, at);
    swap = false;
    return Date.now();
  });
  expect((await memo.digest(at)).sha256).toBe(sha('new bytes'));
  expect(memo.known(keep)).toBeUndefined();
  expect((await memo.digest(keep)).sha256).toBe(sha('old bytes'));
});

describe('StepCache.batch', () => {
  test('saves the memo once, at its end, not with each store', async () => {
    const a = file('a', 'alpha');
    const cache = new StepCache(path.join(dir, 'cache'));
    const onDisk = () => new StepCache(path.join(dir, 'cache')).digests.known(a);
    await cache.batch(async () => {
      await cache.digests.digest(a);
      cache.store(cache.key('merge', '1', {}), [], { x: 1 });
      expect(onDisk()).toBeUndefined(); // not saved by the store
    });
    expect(onDisk()).toEqual({ sha256: sha('alpha'), size: 5 });
  });

  test('saves it after a failure too, and the failure is what the caller sees', async () => {
    const b = file('b', 'beta');
    const cache = new StepCache(path.join(dir, 'cache'));
    await expect(cache.batch(async () => {
      await cache.digests.digest(b);
      throw new Error('the step failed');
    })).rejects.toThrow('the step failed');
    expect(new StepCache(path.join(dir, 'cache')).digests.known(b)).toEqual({ sha256: sha('beta'), size: 4 });
  });

  test('a later save sends only what was used or learned since the last one (and loses nothing)', async () => {
    const files = ['a', 'b', 'c'].map((n) => file(n, n));
    const saved: number[] = [];
    const table = new MemoTable(path.join(dir, 'memo.bin'), dir, Buffer.alloc(32, 1));
    const backing = { find: table.find.bind(table), save: (recent: MemoEntry[], forgotten: string[]) => (saved.push(recent.length), table.save(recent, forgotten)) };
    const memo = new DigestMemo(Date.now, backing);
    await memo.digest(files[0]!);
    await memo.digest(files[1]!);
    memo.save();
    await memo.digest(files[2]!);
    memo.save();
    expect(saved).toEqual([2, 1]);
    const again = new DigestMemo(Date.now, new MemoTable(path.join(dir, 'memo.bin'), dir, Buffer.alloc(32, 1)));
    for (const f of files) expect(again.known(f)?.sha256).toBe(sha(path.basename(f)));
  });
});

test('a save writes each state exactly as the reference encoding does, for any 64-bit field (no BigInt on its path)', () => {
  const max = 18446744073709551615n; // 2^64 - 1
  const keys = [
    `0:${max}:0:-1:9223372036854775807`,
    `${max}:0:${max}:-9223372036854775808:-4294967296`,
    '4294967296:4294967295:4294967297:-4294967297:1764560000123456789',
    '2049:12:100:946684800000000000:-1',
    '2049:13:0:0:0',
  ];
  const entries = keys.map((key, i) => ({ key, digest: { sha256: sha(String(i)), size: Number(BigInt(key.split(':')[2]!) & 0xffffn) } }));
  const reference = encodeTable(entries, Buffer.alloc(32, 1)).subarray(48);
  const table = new MemoTable(path.join(dir, 'edge.bin'), dir, Buffer.alloc(32, 1));
  table.save(entries, []);
  const saved = readFileSync(path.join(dir, 'edge.bin')).subarray(48);
  expect(saved.length).toBe(reference.length);
  for (let at = 0; at < saved.length; at += 80) expect(saved.subarray(at, at + 72).equals(reference.subarray(at, at + 72))).toBe(true); // all but the use stamp
  const again = new MemoTable(path.join(dir, 'edge.bin'), dir, Buffer.alloc(32, 1));
  for (const entry of entries) expect(again.find(entry.key.split(':').slice(0, 2).join(':'))?.entry.key).toBe(entry.key);
});
