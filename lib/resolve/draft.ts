// The closure while it is built: what the parts of the resolver (programs.ts, ld-walk.ts,
// traced-files.ts, copy-dir.ts) add to, the notes they make, and the few reads they share (a
// file's head, a PATH lookup). finish() is the ClosureDraft buildClosure returns.
import { closeSync, openSync, readSync } from 'node:fs';

import type { ElfInfo } from '../elf';
import { DEFAULT_PATH, type Diagnostic, type ExcludedFile, type MissingLibrary, type Reason, type ResolvedEntry } from '../model/closure';
import type { ClosureDraft, ClosureFileDraft, ClosureOptions } from './closure';
import { RootFs, type SymlinkHop } from './rootfs';
import { HEAD_BYTES } from './shebang';

export class Draft {
  readonly fs: RootFs;
  readonly files = new Map<string, ClosureFileDraft>();
  readonly symlinks = new Map<string, string>();
  readonly entries: ResolvedEntry[] = [];
  readonly missing: MissingLibrary[] = [];
  readonly excluded = new Map<string, ExcludedFile>();
  readonly diagnostics: Diagnostic[] = [];
  readonly dirs = new Set<string>();
  readonly libraryPathExtras = new Map<string, string[]>();
  private readonly heads = new Map<string, Buffer>();

  constructor(readonly options: ClosureOptions) {
    this.fs = options.rootFs ?? new RootFs(options.root ?? '/');
  }

  /** " inside ROOT" for messages about a path, unless the root is the host's /. */
  get inside(): string {
    return this.fs.root === '/' ? '' : ` inside ${this.fs.root}`;
  }

  finish(): ClosureDraft {
    const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    return {
      root: this.fs.root,
      entries: this.entries,
      files: [...this.files.values()].sort(byPath),
      symlinks: [...this.symlinks].map(([p, target]) => ({ path: p, target })).sort(byPath),
      missing: this.missing,
      excluded: [...this.excluded.values()].sort(byPath),
      diagnostics: this.diagnostics,
      dirs: [...this.dirs].sort(),
      libraryPathExtras: [...this.libraryPathExtras].map(([entry, dirs]) => ({ entry, dirs })).sort((a, b) => (a.entry < b.entry ? -1 : 1)),
      fs: this.fs,
    };
  }

  addFile(logical: string, kind: ClosureFileDraft['kind'], reason: Reason, elf?: ElfInfo): void {
    const existing = this.files.get(logical);
    if (existing) {
      if (!existing.reasons.some((r) => JSON.stringify(r) === JSON.stringify(reason))) existing.reasons.push(reason);
      return;
    }
    this.files.set(logical, { path: logical, kind, reasons: [reason], ...(elf ? { elf } : {}) });
    this.options.onFile?.(this.fs.hostPath(logical));
  }

  addLinks(links: SymlinkHop[]): void {
    for (const link of links) this.symlinks.set(link.path, link.target);
  }

  note(level: Diagnostic['level'], code: string, message: string, input?: string, chain?: string[]): void {
    if (this.diagnostics.some((d) => d.code === code && d.message === message)) return;
    this.diagnostics.push({ level, code, message, ...(input ? { input } : {}), ...(chain ? { chain } : {}) });
  }

  /** The first HEAD_BYTES bytes of a canonical file, read once per closure (an entry's head
   * is asked for twice: is it a jar, then is it ELF or a script). Callers only read it. */
  readHead(logical: string): Buffer {
    let head = this.heads.get(logical);
    if (head === undefined) {
      const fd = openSync(this.fs.hostPath(logical), 'r');
      try {
        const bytes = Buffer.alloc(HEAD_BYTES);
        head = bytes.subarray(0, readSync(fd, bytes, 0, HEAD_BYTES, 0));
      } finally {
        closeSync(fd);
      }
      this.heads.set(logical, head);
    }
    return head;
  }

  /** PATH lookup inside the root, like execvp: the first executable regular file. */
  findOnPath(name: string): string | undefined {
    for (const dir of this.options.searchPath ?? DEFAULT_PATH) {
      const candidate = `${dir}/${name}`;
      const walk = this.fs.resolve(candidate);
      if (walk !== null && walk.stats.isFile() && (walk.stats.mode & 0o111) !== 0) return candidate;
    }
    return undefined;
  }
}
