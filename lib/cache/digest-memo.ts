// The file-digest memo: the sha256 of a file by its exact state (dev, ino, size, mtime_ns,
// ctime_ns), so an unchanged file is never read twice. It keeps one state per inode, the latest
// (a state once left never comes back: the ctime only grows). A backing (the step cache's table,
// memo-table.ts) persists it: each inode is looked up there when first asked for, and what a run
// learned is written back when it saves.
import { statSync, type BigIntStats } from 'node:fs';

import { sha256Opened, type FileDigest } from './sha256-file';
import { nativeHasher, taken, type NativeHasher } from '../native/hash';
import { notAFile } from '../util/regular-file';

/**
 * Memo key of a file's current state; changes when the file is modified or replaced. The ctime
 * is part of it because no one can set it: an edit in place whose mtime was put back (utimes)
 * still changes the key. The price: a new hard link or chmod changes it too, so whoever links a
 * verified file (the content store) remembers it again afterwards.
 */
export function statKey(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/** The inode a statKey is a state of (`dev:ino`): what the memo is keyed on. */
export function inodeOf(key: string): string {
  return key.slice(0, key.indexOf(':', key.indexOf(':') + 1));
}

/**
 * How long after a file's last change (its ctime) a hash of it must start for the memo to vouch
 * for an unread copy. Where timestamps are coarse (a kernel tick, or seconds on some file
 * systems), a write in the same tick as the change before it leaves the ctime as it was; a file
 * hashed well after its ctime cannot have been written since without its ctime moving.
 */
export const SETTLED_MS = 2000;

/** What the memo knows of one inode: the state (statKey) it was hashed in, and the digest. */
export interface MemoEntry {
  key: string;
  digest: FileDigest;
}

/** Where a memo persists. */
export interface MemoBacking {
  /** The state of `inode` saved last, if any; `aging`: its last use is old enough that it may be
   * evicted soon, so a use is worth a save. */
  find(inode: string): { entry: MemoEntry; aging: boolean } | undefined;
  /** Merge into what is saved (as it is now) what this run used or learned (`recent`, least
   * recently used first) and the states it found wrong (`forgotten`). */
  save(recent: MemoEntry[], forgotten: string[]): void;
}

export class DigestMemo {
  /** Bumped on every change, so a saver knows whether there is anything to save. */
  changes = 0;
  /** Inode to its last known state, least recently used first. */
  readonly entries = new Map<string, MemoEntry>();
  /** When this process began hashing each state it hashed (ms since the epoch); not saved, so
   * only a hash made here, whose timing is known, lets a copy skip reading the file. */
  private readonly hashedAt = new Map<string, number>();
  /** Inodes already looked up in the backing. */
  private readonly looked = new Set<string>();
  private dirty = false;
  /** Inodes this run hashed, remembered or found since the last save: a save marks them used. */
  private readonly recent = new Set<string>();
  /** Inodes whose current entry this process learned itself (hashed, or remembered as verified),
   * not read from the backing: only those may be carried over to a new ctime (carryOver). */
  private readonly learned = new Set<string>();
  /** Inodes found in the backing with an old last use: using one is worth a save, or it could be
   * evicted although in use. Other uses wait for the next save (a save for every use would
   * write the memo back on every run that only reads it). */
  private readonly aging = new Set<string>();
  private readonly forgotten: string[] = [];
  /** Files handed to the native hasher ahead of their digest() (prefetch), by host path: the
   * job to take and when it was queued (its hash started no earlier). */
  private readonly pending = new Map<string, { id: number; queuedAt: number }>();
  /** Digests under way, by the state they were asked for in. */
  private readonly inflight = new Map<string, Promise<FileDigest>>();

  /** `clock`: the time now (ms since the epoch), for the hash times `settled` compares;
   * `backing`: where the memo is loaded from and saved to. */
  constructor(private readonly clock: () => number = Date.now, private readonly backing?: MemoBacking) {}

  /** The digest of `hostPath` if the file is unchanged since it was hashed (a stat, no read). */
  known(hostPath: string): FileDigest | undefined {
    try {
      return this.knownStats(statSync(hostPath, { bigint: true }));
    } catch {
      return undefined;
    }
  }

  /** The digest of a file in the state `stats` describes, if it was hashed in that state. */
  knownStats(stats: BigIntStats): FileDigest | undefined {
    return this.used(statKey(stats));
  }

  /** Record a digest known by other means (a content-store file named by its verified digest). */
  remember(hostPath: string, digest: FileDigest): void {
    this.set(statKey(statSync(hostPath, { bigint: true })), digest);
  }

  /**
   * Carry what this process learned of `hostPath` (its digest `sha256`, hashed or verified here)
   * over to the file's current state when only its ctime has moved since: same inode, size and
   * mtime. For files the caller verified in this run and whose link count it changed itself
   * since: removing the previous bundle unlinks the inodes it shared with the new one (the
   * content store's), which moves their ctime, and without this every one of them was hashed
   * again to describe the new bundle. An entry read from the backing is never carried over (a
   * ctime moved between two runs may be an edit whose mtime was put back). Returns whether it did.
   */
  carryOver(hostPath: string, sha256: string): boolean {
    let stats;
    try {
      stats = statSync(hostPath, { bigint: true });
    } catch {
      return false;
    }
    const key = statKey(stats);
    const inode = inodeOf(key);
    const entry = this.entries.get(inode);
    if (entry === undefined || !this.learned.has(inode) || entry.digest.sha256 !== sha256) return false;
    if (entry.key === key) return true;
    const [, , size, mtimeNs] = entry.key.split(':');
    if (size !== String(stats.size) || mtimeNs !== String(stats.mtimeNs)) return false;
    this.set(key, entry.digest);
    return true;
  }

  /** Drop what is known about `hostPath` in its current state (it proved wrong). */
  forget(hostPath: string): void {
    let key;
    try {
      key = statKey(statSync(hostPath, { bigint: true }));
    } catch {
      return; // gone: nothing to forget
    }
    const inode = this.load(key);
    if (this.entries.get(inode)?.key !== key) return;
    this.entries.delete(inode);
    this.recent.delete(inode);
    this.learned.delete(inode);
    this.forgotten.push(key);
    this.dirty = true;
    this.changes += 1;
  }

  /**
   * Start hashing `hostPath` on the native hasher's threads, unless its state is known (or it
   * is no regular file, or there is no native hasher): digest() then takes the result. A file
   * prefetched and never asked for costs a hash on another core, nothing else.
   */
  prefetch(hostPath: string): void {
    const hasher = nativeHasher();
    if (hasher === undefined || this.pending.has(hostPath)) return;
    let stats;
    try {
      stats = statSync(hostPath, { bigint: true });
    } catch {
      return; // digest() reports it
    }
    if (!stats.isFile() || this.used(statKey(stats)) !== undefined) return;
    this.pending.set(hostPath, { id: hasher.queue(hostPath), queuedAt: this.clock() });
  }

  /** Digest of the file at `hostPath` (following symlinks). */
  async digest(hostPath: string): Promise<FileDigest> {
    const job = this.pending.get(hostPath);
    this.pending.delete(hostPath);
    const stats = statSync(hostPath, { bigint: true });
    // Not even opened unless a file (opening a device can act): sha256Opened checks what it opened.
    if (!stats.isFile()) throw notAFile(hostPath, stats);
    const key = statKey(stats);
    const known = this.used(key);
    if (known) return known;
    // Another digest of this state under way (a hard link's other path, say) is waited for.
    const running = this.inflight.get(key);
    if (running) return running;
    const work = this.hash(hostPath, key, job);
    this.inflight.set(key, work);
    try {
      return await work;
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Hash `hostPath` (in the state `key` when stat'ed), with its prefetched job if any. */
  private async hash(hostPath: string, key: string, job: { id: number; queuedAt: number } | undefined): Promise<FileDigest> {
    const hasher = nativeHasher();
    // A prefetched hash of another state (the file changed since it was queued) is not this
    // state's: the file is hashed again, as it is now.
    const prefetched = job && hasher ? await fromNative(hasher, job.id) : undefined;
    const fresh = prefetched?.readKey === key;
    const started = fresh ? job!.queuedAt : this.clock();
    // Remembered under the state of the file read (a path swapped since the stat names another).
    const hashed = fresh ? prefetched! : (hasher && job === undefined && (await fromNative(hasher, hasher.queue(hostPath)))) || (await this.hashHere(hostPath));
    this.set(hashed.readKey, hashed.digest);
    this.hashedAt.set(hashed.readKey, started);
    return hashed.digest;
  }

  /** Node's own hash; every error a file can give is reported from here. */
  private async hashHere(hostPath: string): Promise<{ digest: FileDigest; readKey: string }> {
    const opened = await sha256Opened(hostPath);
    return { digest: { sha256: opened.sha256, size: opened.size }, readKey: statKey(opened.stats) };
  }

  /**
   * The digest of a file in the state `stats` describes, only if this process hashed it in that
   * state at least SETTLED_MS after its last change: then no write since can have left `stats`
   * as they are, and a copy made while they stay so holds these bytes without being read.
   */
  settled(stats: BigIntStats): FileDigest | undefined {
    const key = statKey(stats);
    const at = this.hashedAt.get(key);
    if (at === undefined || at - Number(stats.ctimeNs / 1_000_000n) < SETTLED_MS) return undefined;
    const entry = this.entries.get(inodeOf(key));
    return entry?.key === key ? entry.digest : undefined;
  }

  /** Write back what this run learned or used since its last save (nothing without a backing,
   * or when nothing changed): a step cache saves after every step, and sending every inode the
   * run had used each time made the saves of a 2,000-file bundle cost ~100 ms. */
  save(): void {
    if (!this.backing || !this.dirty) return;
    const recent = [...this.entries].filter(([inode]) => this.recent.has(inode)).map(([, entry]) => entry);
    this.backing.save(recent, this.forgotten.splice(0));
    this.recent.clear();
    this.dirty = false;
  }

  /** The digest of the state `key`, if known; its inode becomes the most recently used. */
  private used(key: string): FileDigest | undefined {
    const inode = this.load(key);
    const entry = this.entries.get(inode);
    if (entry?.key !== key) return undefined;
    this.entries.delete(inode);
    this.entries.set(inode, entry);
    this.recent.add(inode);
    if (this.aging.delete(inode)) this.dirty = true;
    return entry.digest;
  }

  private set(key: string, digest: FileDigest): void {
    const inode = this.load(key);
    this.entries.delete(inode);
    this.entries.set(inode, { key, digest });
    this.recent.add(inode);
    this.learned.add(inode);
    this.aging.delete(inode);
    this.dirty = true;
    this.changes += 1;
  }

  /** Look the inode `key` is a state of up in the backing, once; returns the inode. */
  private load(key: string): string {
    const inode = inodeOf(key);
    if (this.backing && !this.looked.has(inode)) {
      this.looked.add(inode);
      const found = this.entries.has(inode) ? undefined : this.backing.find(inode); // what this process learned is newer
      if (found) {
        this.entries.set(inode, found.entry);
        if (found.aging) this.aging.add(inode);
      }
    }
    return inode;
  }
}

/** A statKey as the native hasher writes it (dev:ino:size:mtime_ns:ctime_ns). */
const STATE = /^\d+:\d+:\d+:-?\d+:-?\d+$/;

/** The native hasher's result for job `id`; undefined where it failed (Node then hashes, and
 * reports the failure in its own words). */
async function fromNative(hasher: NativeHasher, id: number): Promise<{ digest: FileDigest; readKey: string } | undefined> {
  const [status, sha256, size, readKey] = (await taken(hasher, id)).split(' ');
  // Checked to the letter: a shim of another build could answer in another form.
  if (status !== 'ok' || !/^[0-9a-f]{64}$/.test(sha256 ?? '') || !/^\d+$/.test(size ?? '') || !STATE.test(readKey ?? '')) return undefined;
  return { digest: { sha256: sha256!, size: Number(size) }, readKey: readKey! };
}
