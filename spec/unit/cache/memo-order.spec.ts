// The digest memo is read whole at every start, so it is capped; what it keeps when it is full is
// what runs used last (least recently used out first), not merely what was hashed last.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DigestMemo, statKey } from '../../../lib/cache/file-digest';
import { StepCache } from '../../../lib/cache/step-cache';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sb-memo-order-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fake = (i: number) => ({ sha256: i.toString(16).padStart(64, '0'), size: i });

test('a digest served from the memo moves its entry to the end (most recently used)', async () => {
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  writeFileSync(a, 'a');
  writeFileSync(b, 'b');
  const memo = new DigestMemo();
  await memo.digest(a);
  await memo.digest(b);
  const keyA = statKey(statSync(a, { bigint: true }));
  expect([...memo.entries.keys()][0]).toBe(keyA);
  await memo.digest(a); // a hit
  expect([...memo.entries.keys()].at(-1)).toBe(keyA);
  memo.known(b); // a hit through a stat
  expect([...memo.entries.keys()].at(-1)).toBe(statKey(statSync(b, { bigint: true })));
});

test('a full memo saved and loaded keeps an old entry that was used over newer unused ones', async () => {
  const used = path.join(dir, 'used');
  writeFileSync(used, 'used by every run');
  const cache = new StepCache(path.join(dir, 'cache'));
  const digest = await cache.digests.digest(used);
  for (let i = 0; i < 25_000; i++) cache.digests.entries.set(`0:${i}:1:1:1`, fake(i));
  cache.digests.known(used); // this run used it last
  cache.digests.remember(used, digest);
  cache.saveMemo();

  const reloaded = new StepCache(path.join(dir, 'cache'));
  expect(reloaded.digests.known(used)).toEqual(digest);
  expect(reloaded.digests.entries.size).toBeLessThan(25_001);
  expect(reloaded.digests.entries.has('0:0:1:1:1')).toBe(false); // the oldest unused went first
});
