// writeContent's copy paths: a source this run hashed long after its change is copied by the
// kernel unread, any other is hashed while copied; either way the stored file holds the digest
// the plan records, with the stored mode and the bundle's one time, and a source that changed
// since it was resolved fails the build instead of shipping under a digest it does not have.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DigestMemo, SETTLED_MS } from '../../../lib/cache/file-digest';
import type { PlanFile } from '../../../lib/model/plan';
import { writeContent } from '../../../lib/package/content';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sb-content-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const EPOCH = 946684800;
const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** Two sources, resolved (hashed) through `memo`, as plan files. */
async function planOf(memo: DigestMemo): Promise<PlanFile[]> {
  const files: PlanFile[] = [];
  for (const [name, mode] of [['prog', 0o755], ['data', 0o644]] as const) {
    const source = path.join(dir, `src-${name}`);
    writeFileSync(source, `${name}\n`.repeat(5000), { mode });
    const { sha256, size } = await memo.digest(source);
    files.push({ path: `payload/${name}`, source, sha256, size, mode, kind: 'data', reasons: [] });
  }
  return files;
}

describe.each([
  ['settled sources (kernel copy)', () => new DigestMemo(() => Date.now() + SETTLED_MS + 1000)],
  ['fresh sources (hashed while copied)', () => new DigestMemo()],
])('writeContent, %s', (_name, memoOf) => {
  test('each stored file has the digest of its plan entry, the stored mode and the epoch', async () => {
    const memo = memoOf();
    const files = await planOf(memo);
    const out = path.join(dir, 'bundle');
    await writeContent(out, files, { epoch: EPOCH, digests: memo });
    for (const file of files) {
      const written = path.join(out, file.path);
      expect(sha(readFileSync(written))).toBe(file.sha256);
      const stats = statSync(written);
      expect(stats.mode & 0o7777).toBe(file.mode & 0o555);
      expect(stats.mtimeMs).toBe(EPOCH * 1000);
      // The memo learned the stored file's final state (the package step's cache reads none).
      expect(memo.known(written)?.sha256).toBe(file.sha256);
    }
  });

  test('a source changed after it was resolved fails with SOURCE_CHANGED', async () => {
    const memo = memoOf();
    const files = await planOf(memo);
    writeFileSync(files[0]!.source, 'changed since resolve\n');
    await expect(writeContent(path.join(dir, 'bundle'), files, { epoch: EPOCH, digests: memo })).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
  });
});

test('an interruption is thrown only once every copy under way has finished (the caller then removes the staging)', async () => {
  const memo = new DigestMemo(); // fresh sources: each is hashed while copied, in 1 MiB chunks
  const files: PlanFile[] = [];
  for (let i = 0; i < 12; i++) {
    const source = path.join(dir, `big-${i}`);
    writeFileSync(source, Buffer.alloc(4 * 1024 * 1024, i));
    const { sha256, size } = await memo.digest(source);
    files.push({ path: `payload/big-${i}`, source, sha256, size, mode: 0o644, kind: 'data', reasons: [] });
  }
  const out = path.join(dir, 'bundle');
  const controller = new AbortController();
  const written = writeContent(out, files, { epoch: EPOCH, digests: memo, signal: controller.signal, onProgress: () => controller.abort() });
  await expect(written).rejects.toThrow();
  // Every file begun was finished: whole, with its stored mode and time (nothing still being written).
  const begun = files.filter((f) => existsSync(path.join(out, f.path)));
  expect(begun.length).toBeGreaterThan(1); // precondition: copies were under way together
  expect(begun.length).toBeLessThan(files.length); // and the interruption stopped the rest
  for (const f of begun) {
    const stats = statSync(path.join(out, f.path));
    expect([f.path, stats.size, stats.mode & 0o777, stats.mtimeMs]).toEqual([f.path, f.size, 0o444, EPOCH * 1000]);
  }
});
