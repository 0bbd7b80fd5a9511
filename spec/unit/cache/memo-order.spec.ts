// The digest memo keeps one state per inode, and it is capped; what it keeps when it is full is
// what runs used last (least recently used out first), not merely what was hashed last.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DigestMemo, inodeOf, statKey, type MemoEntry } from '../../../lib/cache/digest-memo';
import { MemoTable } from '../../../lib/cache/memo-table';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sb-memo-order-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const KEY = Buffer.alloc(32, 7);
/** Made-up states of inodes on a device no file here is on. */
const fakes = (from: number, count: number): MemoEntry[] =>
  Array.from({ length: count }, (_, i) => ({ key: `999999:${from + i}:1:1:1`, digest: { sha256: (from + i).toString(16).padStart(64, '0'), size: 1 } }));
const table = (max: number) => new MemoTable(path.join(dir, 'memo.bin'), dir, KEY, max);

test('a digest served from the memo moves its inode to the end (most recently used)', async () => {
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  writeFileSync(a, 'a');
  writeFileSync(b, 'b');
  const memo = new DigestMemo();
  await memo.digest(a);
  await memo.digest(b);
  const inodeA = inodeOf(statKey(statSync(a, { bigint: true })));
  expect([...memo.entries.keys()][0]).toBe(inodeA);
  await memo.digest(a); // a hit
  expect([...memo.entries.keys()].at(-1)).toBe(inodeA);
  memo.known(b); // a hit through a stat
  expect([...memo.entries.keys()].at(-1)).toBe(inodeOf(statKey(statSync(b, { bigint: true }))));
});

test('a full memo keeps an old entry a run used over newer unused ones', async () => {
  const used = path.join(dir, 'used');
  writeFileSync(used, 'used by every run');
  const first = new DigestMemo(Date.now, table(100));
  const digest = await first.digest(used);
  first.save();
  table(100).save(fakes(0, 90), []); // other runs' files, used after it: it is now the oldest

  // A run only reads it: an entry that old is worth a save although nothing changed.
  const reader = new DigestMemo(Date.now, table(100));
  expect(reader.known(used)).toEqual(digest);
  reader.save();

  table(100).save(fakes(1000, 20), []); // over the cap: the least recently used go
  const after = table(100);
  expect(after.count()).toBeLessThanOrEqual(100);
  expect(new DigestMemo(Date.now, after).known(used)).toEqual(digest);
  expect(after.find('999999:0')).toBeUndefined(); // the oldest unused went first
  expect(after.find('999999:1019')?.entry.digest.sha256).toBe((1019).toString(16).padStart(64, '0'));
});
