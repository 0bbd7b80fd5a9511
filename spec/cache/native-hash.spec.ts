// The native hasher (native/src/hashpool.rs through native/src/napi.rs) against Node's own hash:
// the same sha256, byte count and file state (the memo's statKey) for files of every size around
// the block and read-chunk edges and for a real program's libraries; the memo's prefetch hands
// over only regular files it does not know, and a file changed after its prefetch is hashed as it
// is now. Errors stay Node's own: the memo hashes a file the native side could not, itself.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { DigestMemo, statKey } from '../../lib/cache/digest-memo';
import { sha256Opened } from '../../lib/cache/sha256-file';
import { builtLibraryPath } from '../../lib/native/binding';
import { nativeHasher, type NativeHasher } from '../../lib/native/hash';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-native-hash-');

/** The addon itself, whether or not this CPU has the SHA extensions (the portable code then). */
function addon(): NativeHasher & { accelerated(): boolean } {
  const library = builtLibraryPath();
  if (library === undefined) throw new Error('the native shim is not built (npm run build:native)');
  const module = { exports: {} as NativeHasher & { accelerated(): boolean } };
  process.dlopen(module, library);
  return module.exports;
}

async function nodeLine(file: string): Promise<string> {
  const opened = await sha256Opened(file);
  return `ok ${opened.sha256} ${opened.size} ${statKey(opened.stats)}`;
}

describe('the native hasher', () => {
  test('agrees with Node on digest, size and state, for sizes around every edge and for real libraries', async () => {
    const hasher = addon();
    const files: string[] = [];
    const sizes = [0, 1, 55, 56, 63, 64, 65, 119, 120, 4096, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7];
    for (const size of sizes) {
      const file = path.join(dir, `size-${size}`);
      writeFileSync(file, Buffer.from(Array.from({ length: size }, (_, i) => (i * 2654435761) >>> 24)));
      files.push(file);
    }
    const ldd = spawnSync('ldd', ['/usr/bin/git'], { encoding: 'utf8' }).stdout;
    files.push('/usr/bin/git', ...[...ldd.matchAll(/(\/\S+)/g)].map((m) => realpathSync(m[1]!)));
    // All queued first, as a resolve does, then taken in another order.
    const ids = files.map((file) => hasher.queue(file));
    for (const i of [...files.keys()].reverse()) expect(hasher.take(ids[i]!, 60_000)).toBe(await nodeLine(files[i]!));
  });

  test('answers err for what is no regular file or is missing, and for an id taken already', () => {
    const hasher = addon();
    const fifo = path.join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const target of [dir, fifo, path.join(dir, 'absent')]) expect(hasher.take(hasher.queue(target), 60_000)).toMatch(/^err /);
    const id = hasher.queue(path.join(dir, 'size-1'));
    expect(hasher.take(id, 60_000)).toMatch(/^ok /);
    expect(hasher.take(id, 60_000)).toMatch(/^err no such job/);
    expect(() => hasher.take(-1, 60_000)).toThrow(/an id from queue/);
    expect(() => hasher.queue('a\0b')).toThrow(/NUL/);
  });
});

describe('DigestMemo with the native hasher', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  test('is used on this machine (the CPU has the SHA extensions, the shim is built)', () => {
    const accelerated = addon().accelerated();
    expect(nativeHasher() !== undefined).toBe(accelerated);
  });

  test('a prefetched file gives the digest of its bytes; one changed after its prefetch, of its new bytes', async () => {
    const file = path.join(dir, 'changing');
    writeFileSync(file, 'before');
    const memo = new DigestMemo();
    memo.prefetch(file);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the hash of 'before' is done
    writeFileSync(file, 'after, longer');
    expect(await memo.digest(file)).toEqual({ sha256: sha('after, longer'), size: 13 });
    expect(memo.knownStats(statSync(file, { bigint: true }))).toEqual({ sha256: sha('after, longer'), size: 13 });

    const steady = path.join(dir, 'steady');
    writeFileSync(steady, 'steady');
    memo.prefetch(steady);
    memo.prefetch(steady); // once per path
    expect(await memo.digest(steady)).toEqual({ sha256: sha('steady'), size: 6 });
  });

  test('errors are the ones Node gives: a FIFO refused unopened, a file gone or swapped for a directory after its prefetch', async () => {
    const memo = new DigestMemo();
    const fifo = path.join(dir, 'fifo2');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    memo.prefetch(fifo); // not queued: opening it could block or act
    await expect(memo.digest(fifo)).rejects.toThrow(/a FIFO, not a regular file/);
    const gone = path.join(dir, 'gone');
    writeFileSync(gone, 'x');
    memo.prefetch(gone);
    rmSync(gone);
    await expect(memo.digest(gone)).rejects.toMatchObject({ code: 'ENOENT' });
    const viaSwap = path.join(dir, 'swap');
    writeFileSync(viaSwap, 'first');
    memo.prefetch(viaSwap);
    rmSync(viaSwap);
    mkdirSync(viaSwap); // a directory where the file was: refused before any read
    await expect(memo.digest(viaSwap)).rejects.toThrow(/a directory, not a regular file/);
  });
});
