// The image cache: blobs by digest (verified before they are kept), and unpacked snapshots by
// chain (the digests of a layer and of every layer below it). A snapshot of layers 1..k is a
// hard-link clone of the snapshot of 1..k-1 with layer k applied (the unpacker replaces files,
// never writes into them, so the lower snapshot is untouched): a second pull of an image, or an
// image sharing base layers, reuses what is there. Everything is built under a temporary name
// and renamed into place, so a killed or concurrent run never leaves or uses a half entry.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { SidebundleError } from '../errors';
import { userCacheDir } from '../util/cache-dir';
import { pidNamespace, processRunning, startTime } from '../util/process-running';
import { openVerifiedFile, verifying, type VerifiedBlob } from './blob';

export function defaultImageCache(): string {
  return process.env.SIDEBUNDLE_IMAGE_CACHE ?? path.join(userCacheDir(), 'images');
}

let own: { start: string | undefined; namespace: string | undefined } | undefined;
/** This process's start time and pid namespace, read once, when a temporary entry is first named. */
function ownRun(): { start: string | undefined; namespace: string | undefined } {
  own ??= { start: startTime(process.pid), namespace: pidNamespace() };
  return own;
}

export class ImageStore {
  readonly dir: string;

  constructor(dir: string = defaultImageCache()) {
    this.dir = path.resolve(dir);
    for (const sub of ['blobs/sha256', 'snapshots', 'tmp']) mkdirSync(path.join(this.dir, sub), { recursive: true });
  }

  blobPath(digest: string): string {
    return path.join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Keep a blob: streamed to a temporary file, verified, renamed into place. */
  async putBlob(digest: string, size: number | undefined, source: Readable, label: string): Promise<string> {
    const target = this.blobPath(digest);
    if (existsSync(target)) {
      source.resume();
      return target;
    }
    const tmp = this.tmpPath('blob');
    try {
      await pipeline(source, verifying(digest, size, label), createWriteStream(tmp, { mode: 0o644 }));
      renameSync(tmp, target);
    } finally {
      rmSync(tmp, { force: true });
    }
    return target;
  }

  /** A blob read back, verified whole again before it is used (a damaged cache is caught, not used). */
  openBlob(digest: string, size: number | undefined, label: string): Promise<VerifiedBlob> {
    return openVerifiedFile(this.blobPath(digest), digest, size, label);
  }

  /** The chain keys of a stack of layers: one per prefix. */
  static chain(layerIds: string[]): string[] {
    const keys: string[] = [];
    let previous = '';
    for (const id of layerIds) {
      previous = createHash('sha256').update(`${previous} ${id}`).digest('hex');
      keys.push(previous);
    }
    return keys;
  }

  snapshotPath(key: string): string {
    return path.join(this.dir, 'snapshots', key);
  }

  /**
   * The rootfs of layers `ids` (bottom first), built from the deepest cached prefix:
   * `apply(i, dir)` applies layer i onto dir. The base layer and the whole stack are kept as
   * snapshots (images commonly share their base; keeping every prefix would cost a hard-link
   * clone of the tree per layer). Returns the snapshot directory.
   */
  async snapshot(ids: string[], apply: (index: number, dir: string) => Promise<void>, onLayer?: (index: number, cached: boolean) => void): Promise<string> {
    if (ids.length === 0) throw new SidebundleError('IMAGE_NO_LAYERS', 'the image has no layers', { hint: 'check the image' });
    const keys = ImageStore.chain(ids);
    const last = keys.length - 1;
    let have = keys.length;
    while (have > 0 && !existsSync(this.snapshotPath(keys[have - 1]!))) have--;
    for (let i = 0; i < have; i++) onLayer?.(i, true);
    // Stops: the base (when missing) and the top.
    const stops = have === 0 && last > 0 ? [0, last] : [last];
    let from = have;
    for (const stop of stops) {
      if (from > stop) continue;
      const tmp = this.tmpPath('snapshot');
      try {
        if (from === 0) mkdirSync(tmp, { mode: 0o755 });
        else cloneTree(this.snapshotPath(keys[from - 1]!), tmp);
        for (let i = from; i <= stop; i++) {
          await apply(i, tmp);
          onLayer?.(i, false);
        }
        if (stop === last) for (const dir of ['proc', 'dev', 'sys', 'tmp']) mkdirSync(path.join(tmp, dir), { recursive: true });
        try {
          renameSync(tmp, this.snapshotPath(keys[stop]!));
        } catch (error) {
          if (!existsSync(this.snapshotPath(keys[stop]!))) throw error; // another run finished it first
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      from = stop + 1;
    }
    return this.snapshotPath(keys[last]!);
  }

  /** Remove snapshots and blobs, least recently used first, until the cache is at most `maxBytes`. */
  prune(maxBytes: number): { removed: number; bytes: number } {
    const items: Array<{ at: string; size: number; used: number }> = [];
    for (const sub of ['snapshots', 'blobs/sha256']) {
      for (const name of readdirSync(path.join(this.dir, sub))) {
        const at = path.join(this.dir, sub, name);
        items.push({ at, size: treeSize(at), used: statSync(at).atimeMs });
      }
    }
    let total = items.reduce((n, i) => n + i.size, 0);
    let removed = 0;
    for (const item of items.sort((a, b) => a.used - b.used)) {
      if (total <= maxBytes) break;
      rmSync(item.at, { recursive: true, force: true });
      total -= item.size;
      removed += 1;
    }
    return { removed, bytes: total };
  }

  /** A temporary entry's path, named by its run: pid, the pid's start time and pid namespace
   * (`x` where unknown), so that cleanup() can tell whether the run is still there. */
  tmpPath(what: string): string {
    const { start, namespace } = ownRun();
    return path.join(this.dir, 'tmp', `${what}-${process.pid}-${start ?? 'x'}-${namespace ?? 'x'}-${randomBytes(6).toString('hex')}`);
  }

  /** Temporary entries of runs that are gone. A run still there keeps its entries: also one
   * this user may not signal (another user's, in a shared SIDEBUNDLE_IMAGE_CACHE) and one in
   * another pid namespace (another container's, where its pid means nothing here); a pid
   * taken since by a process started later is gone. Names of older versions carry the pid only. */
  cleanup(): void {
    for (const name of readdirSync(path.join(this.dir, 'tmp'))) {
      const run = /-(\d+)-(\d+|x)-(\d+|x)-[0-9a-f]+$/.exec(name) ?? /-(\d+)-[0-9a-f]+$/.exec(name);
      const pid = Number(run?.[1]);
      const start = run?.[2] === 'x' ? undefined : run?.[2];
      const namespace = run?.[3] === 'x' ? undefined : run?.[3];
      const alive = Number.isInteger(pid) && pid > 0 && ((namespace !== undefined && namespace !== ownRun().namespace) || processRunning(pid, start));
      if (!alive) rmSync(path.join(this.dir, 'tmp', name), { recursive: true, force: true });
    }
  }
}

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) {
    throw new SidebundleError('IMAGE_BAD_DIGEST', `${JSON.stringify(digest)} is not a sha256 digest`, {
      input: digest,
      hint: 'the image metadata is malformed or malicious (a digest must be sha256: and 64 hex digits)',
    });
  }
  return m[1]!;
}

/** Copy a tree with hard links for files (directories and symlinks are recreated). */
function cloneTree(from: string, to: string): void {
  const st = lstatSync(from);
  mkdirSync(to, { mode: st.mode & 0o7777 });
  for (const name of readdirSync(from)) {
    const a = path.join(from, name);
    const b = path.join(to, name);
    const s = lstatSync(a);
    if (s.isDirectory()) cloneTree(a, b);
    else if (s.isSymbolicLink()) symlinkSync(readlinkSync(a), b);
    else linkSync(a, b);
  }
  utimesSync(to, st.atime, st.mtime);
}

function treeSize(at: string): number {
  const st = lstatSync(at);
  if (!st.isDirectory()) return st.size;
  return readdirSync(at).reduce((n, name) => n + treeSize(path.join(at, name)), 0);
}
