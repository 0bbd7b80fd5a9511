// The content-digest step cache. A step's key is the sha256 of its name and version and its
// options in canonical JSON; under that key live records of earlier runs, each with the digests
// of every file the run read (including absent files and symlinks it probed: a library appearing
// earlier on a search path changes the answer). A record whose inputs all still match is a hit
// and its stored output is returned without redoing the work.
//
// Layout (safe under concurrent runs and killed runs: every file is written to a temporary
// name, verified and renamed; nothing half-written is ever read back):
//   <dir>/records/<key>.json   earlier runs of a step with these options: inputs → output digest
//   <dir>/outputs/<sha256>     stored outputs (JSON), named by their own digest
//   <dir>/cas/<sha256>         content store shared by bundles (hard-linked, never copied twice)
//   <dir>/memo.bin             the file-digest memo (memo-table.ts), so an unchanged file is never
//                              read again, with its HMAC under <dir>/memo.key (0600): a memo
//                              written by anyone who cannot read the key (or by hand, or torn)
//                              is not believed
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { fromWriteDirError, SidebundleError, type DirectoryFault } from '../errors';
import { makeDir } from '../util/make-dir';
import { DigestMemo } from './digest-memo';
import { memoKey } from './memo-key';
import { MemoTable } from './memo-table';

/** One thing a step read: a file's digest, a symlink's target, or the fact that nothing was there. */
export type StepInput =
  | { path: string; kind: 'file'; sha256: string }
  | { path: string; kind: 'link'; target: string }
  | { path: string; kind: 'listing'; sha256: string }
  | { path: string; kind: 'dir' | 'other' | 'absent' };

interface StepRecord {
  inputs: StepInput[];
  output: string;
  createdAt: string;
}

const MAX_RECORDS_PER_KEY = 8;

/** JSON with object keys sorted, so equal options always give equal keys. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class StepCache {
  readonly dir: string;
  readonly digests: DigestMemo;
  /** Open batches (batch()): while one is open, store() leaves the memo to the batch's end. */
  private batches = 0;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    try {
      for (const sub of ['records', 'outputs', 'cas', 'tmp']) makeDir(path.join(this.dir, sub));
      const key = memoKey(path.join(this.dir, 'memo.key'), path.join(this.dir, 'tmp'));
      this.digests = new DigestMemo(Date.now, new MemoTable(path.join(this.dir, 'memo.bin'), path.join(this.dir, 'tmp'), key));
      // Fail now, not after the bundle is published, when the cache cannot be written.
      const probe = path.join(this.dir, 'tmp', `probe.${process.pid}.${randomBytes(4).toString('hex')}`);
      writeFileSync(probe, '');
      rmSync(probe);
    } catch (error) {
      throw cacheError(error, this.dir);
    }
  }

  /** The key of a step run: name, version and options. */
  key(step: string, version: string, options: unknown): string {
    return sha256Text(`${step}\0${version}\0${canonicalJson(options)}`);
  }

  /** The stored output of an earlier run whose inputs are all unchanged, if any. */
  async lookup<T>(key: string): Promise<T | undefined> {
    for (const record of this.records(key)) {
      if (!(await this.inputsMatch(record.inputs))) continue;
      const output = this.readOutput(record.output);
      if (output !== undefined) return JSON.parse(output) as T;
    }
    return undefined;
  }

  /** Remember `output` for `key`, valid while `inputs` are unchanged. */
  store(key: string, inputs: StepInput[], output: unknown): void {
    const text = JSON.stringify(output);
    const digest = sha256Text(text);
    const outputFile = path.join(this.dir, 'outputs', digest);
    if (!existsSync(outputFile)) this.writeAtomic(outputFile, text);
    const records = [{ inputs, output: digest, createdAt: new Date().toISOString() }, ...this.records(key).filter((r) => r.output !== digest)];
    this.writeAtomic(path.join(this.dir, 'records', `${key}.json`), JSON.stringify(records.slice(0, MAX_RECORDS_PER_KEY)));
    if (this.batches === 0) this.saveMemo();
  }

  /**
   * Run `work` (several steps) saving the digest memo once, at its end, instead of after every
   * step's store: each save writes the whole table (up to 1.6 MiB, under an HMAC) to a new
   * file, and a bundle stores five steps or more. The memo only saves reading files again: a
   * run cut short before the save leaves records that are right, and the next run hashes what
   * this one had learned. After a failure the memo is still saved (its own failure ignored).
   */
  async batch<T>(work: () => Promise<T>): Promise<T> {
    this.batches += 1;
    let done = false;
    try {
      const result = await work();
      done = true;
      return result;
    } finally {
      this.batches -= 1;
      try {
        if (this.batches === 0) this.saveMemo();
      } catch (error) {
        if (done) throw error; // else the work's own error says more
      }
    }
  }

  /**
   * What is at each of `paths` now (files digested through the memo), plus the listings of
   * `listed` directories (a file added to a copied tree changes them), sorted by path.
   */
  async describe(paths: Iterable<string>, listed: Iterable<string> = []): Promise<StepInput[]> {
    const out: StepInput[] = [];
    for (const file of new Set(paths)) out.push(await this.current(file));
    for (const dir of new Set(listed)) out.push(listing(dir));
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.kind < b.kind ? -1 : 1));
  }

  /** A path in the content store holding `sha256`, if present (for hard-link reuse). */
  casPath(sha256: string): string | undefined {
    const file = this.storePath(sha256);
    return file !== undefined && existsSync(file) ? file : undefined;
  }

  /** Where the content store keeps `sha256`, present or not (for a caller whose own stat of it
   * says, saving a syscall per file). */
  storePath(sha256: string): string | undefined {
    return /^[0-9a-f]{64}$/.test(sha256) ? path.join(this.dir, 'cas', sha256) : undefined;
  }

  /**
   * Add a written bundle's stored files (real files, by content) to the content store: hard
   * links, no copy. A store copy with another mtime (stored under another SOURCE_DATE_EPOCH, or
   * before bundles had one fixed time) is replaced, so the next bundle can link it again.
   */
  adopt(files: Iterable<{ path: string; sha256: string }>): void {
    for (const file of files) {
      if (!/^[0-9a-f]{64}$/.test(file.sha256)) continue;
      const target = path.join(this.dir, 'cas', file.sha256);
      let mine;
      try {
        mine = statSync(file.path, { bigint: true });
        const theirs = statSync(target, { bigint: true });
        if (theirs.ino === mine.ino || theirs.mtimeNs === mine.mtimeNs || (theirs.mode & 0o7777n) !== (mine.mode & 0o7777n)) continue;
      } catch {
        // no store copy yet (or the bundle's file is gone): link below
      }
      if (mine === undefined) continue;
      // Vouched for only while the file is in the state this run verified (an edit in place
      // since, even one that put the mtime back, left another ctime): else the store copy is
      // hashed when a bundle next links it.
      const vouched = this.digests.knownStats(mine)?.sha256 === file.sha256;
      const temporary = path.join(this.dir, 'tmp', `${file.sha256}.${process.pid}.${randomBytes(4).toString('hex')}`);
      try {
        linkSync(file.path, temporary);
        renameSync(temporary, target);
      } catch {
        rmSync(temporary, { force: true });
        return; // another filesystem: the store cannot share inodes with this bundle
      }
      if (vouched) this.digests.remember(target, { sha256: file.sha256, size: Number(mine.size) });
    }
  }

  /** Remove the oldest outputs and content until the cache is at most `maxBytes`. */
  prune(maxBytes: number): { removed: number; bytes: number } {
    rmSync(path.join(this.dir, 'digests.json'), { force: true }); // earlier versions' whole-file memo, unread since
    const files: Array<{ file: string; size: number; mtime: number }> = [];
    for (const sub of ['outputs', 'cas', 'records']) {
      for (const name of readdirSync(path.join(this.dir, sub))) {
        const file = path.join(this.dir, sub, name);
        const stats = statSync(file);
        files.push({ file, size: stats.size, mtime: stats.mtimeMs });
      }
    }
    let total = files.reduce((sum, f) => sum + f.size, 0);
    let removed = 0;
    for (const f of files.sort((a, b) => a.mtime - b.mtime)) {
      if (total <= maxBytes) break;
      rmSync(f.file, { force: true });
      total -= f.size;
      removed += 1;
    }
    return { removed, bytes: total };
  }

  /** Persist what the digest memo learned, if anything. */
  saveMemo(): void {
    try {
      this.digests.save();
    } catch (error) {
      throw cacheError(error, this.dir);
    }
  }

  private async current(file: string): Promise<StepInput> {
    let stats;
    try {
      stats = lstatSync(file);
    } catch {
      return { path: file, kind: 'absent' };
    }
    if (stats.isSymbolicLink()) return { path: file, kind: 'link', target: readlinkSync(file) };
    if (stats.isDirectory()) return { path: file, kind: 'dir' };
    if (!stats.isFile()) return { path: file, kind: 'other' };
    return { path: file, kind: 'file', sha256: (await this.digests.digest(file)).sha256 };
  }

  private async inputsMatch(inputs: StepInput[]): Promise<boolean> {
    for (const input of inputs) {
      const now = input.kind === 'listing' ? listing(input.path) : await this.current(input.path);
      if (!sameInput(now, input)) return false;
    }
    return true;
  }

  private records(key: string): StepRecord[] {
    try {
      return JSON.parse(readFileSync(path.join(this.dir, 'records', `${key}.json`), 'utf8')) as StepRecord[];
    } catch {
      return [];
    }
  }

  private readOutput(digest: string): string | undefined {
    try {
      const text = readFileSync(path.join(this.dir, 'outputs', digest), 'utf8');
      return sha256Text(text) === digest ? text : undefined; // never serve a damaged entry
    } catch {
      return undefined;
    }
  }

  private writeAtomic(file: string, text: string): void {
    const tmp = path.join(this.dir, 'tmp', `${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw cacheError(error, this.dir);
    }
  }
}

/** Whether two descriptions of a path say the same (field by field: a run checks hundreds). */
function sameInput(a: StepInput, b: StepInput): boolean {
  const detail = (x: StepInput) => ('sha256' in x ? x.sha256 : 'target' in x ? x.target : undefined);
  return a.path === b.path && a.kind === b.kind && detail(a) === detail(b) && Object.keys(a).length === Object.keys(b).length;
}

function listing(dir: string): StepInput {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return { path: dir, kind: 'absent' };
  }
  return { path: dir, kind: 'listing', sha256: sha256Text(names.join('\0')) };
}

/** A failed file operation in the cache directory, said as what it is, with the directory (which
 * errno means which: the one table in errors.ts); any other error stays as it is. */
export function cacheError(error: unknown, dir: string): unknown {
  if (error instanceof SidebundleError) return error;
  const hints: Record<DirectoryFault, string> = {
    NOT_A_DIRECTORY: `${dir} (or a directory above it) is not a directory; choose another --cache-dir, or run with --no-cache`,
    READ_ONLY: `${dir} is on a read-only file system; choose a --cache-dir on a writable one, or run with --no-cache`,
    UNWRITABLE: `you may not write in ${dir}; choose a --cache-dir you own, or run with --no-cache`,
    NO_SPACE: 'free space there, prune the cache, or choose another --cache-dir (or --no-cache)',
  };
  return fromWriteDirError(error, { dir, prefix: 'CACHE', message: `cannot use the cache directory ${dir}: ${(error as Error).message}`, hints }) ?? error;
}
