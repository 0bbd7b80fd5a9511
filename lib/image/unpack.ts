// Applying one image layer (a tar stream) to a directory, the way container runtimes do —
// whiteouts (`.wh.NAME`) and opaque directories (`.wh..wh..opq`), hard links, symlinks,
// permissions and times — while treating the tar as hostile: names with `..` or an absolute
// path, writes through a symlink that leaves the root, hard links to outside, device nodes,
// oversized files and layer bombs are refused, and nothing is ever written outside `target`.
// Existing files are unlinked before they are replaced, never written in place: a snapshot
// cloned with hard links from a lower one is never changed through them.
import { chmodSync, createWriteStream, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

import { SidebundleError } from '../errors';

export interface UnpackLimits {
  /** Largest single file. */
  maxFileBytes: number;
  /** Largest total of file bytes in one layer. */
  maxTotalBytes: number;
  /** Most entries in one layer. */
  maxEntries: number;
}

export const DEFAULT_LIMITS: UnpackLimits = {
  maxFileBytes: 8 * 1024 ** 3,
  maxTotalBytes: 64 * 1024 ** 3,
  maxEntries: 2_000_000,
};

export interface LayerStats {
  entries: number;
  bytes: number;
  /** Entries not materialised (device nodes, fifos), with why. */
  skipped: string[];
}

export interface ApplyOptions {
  limits?: Partial<UnpackLimits>;
  /** Interpret .wh. entries (image layers); off for a flat export of a container. */
  whiteouts?: boolean;
  /** Names the layer in errors. */
  label: string;
  signal?: AbortSignal;
}

const MAX_SYMLINK_HOPS = 40;
const SMALL_FILE = 256 * 1024;

async function* withTrailer(source: Readable): AsyncGenerator<Buffer> {
  let length = 0;
  for await (const chunk of source) {
    length += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  yield Buffer.alloc(((512 - (length % 512)) % 512) + 1024);
}

export async function applyLayer(source: Readable, target: string, options: ApplyOptions): Promise<LayerStats> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const root = path.resolve(target);
  const stats: LayerStats = { entries: 0, bytes: 0, skipped: [] };
  const createdHere = new Set<string>();
  const dirTimes: Array<[string, Date]> = [];
  const unsafe = (entry: string, why: string) =>
    new SidebundleError('IMAGE_LAYER_UNSAFE', `${options.label}: refused the entry ${JSON.stringify(entry)}: ${why}`, {
      input: options.label,
      hint: 'the image is malformed or malicious; nothing was written outside the unpack directory',
    });

  /** Host path for the entry's logical parts; directories on the way are created, symlinks
   * inside the root followed, and anything that would leave the root refused. */
  // Directories already checked in this layer (safe: nothing turns them into links meanwhile,
  // and the cache is dropped whenever something is removed).
  const checked = new Map<string, string>();
  const place = (parts: string[], entry: string, create: boolean): string => {
    const key = parts.join('/');
    const known = checked.get(key);
    if (known !== undefined) return known;
    const resolvedDir = walk(parts, entry, create);
    checked.set(key, resolvedDir);
    return resolvedDir;
  };
  const walk = (parts: string[], entry: string, create: boolean): string => {
    let current = root;
    const todo = [...parts];
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      const next = path.join(current, part);
      let st: Stats | undefined;
      try {
        st = lstatSync(next);
      } catch {
        st = undefined;
      }
      if (st === undefined) {
        if (!create) throw unsafe(entry, `${path.relative(root, next)} does not exist`);
        mkdirSync(next, { mode: 0o755 });
        createdHere.add(next);
      } else if (st.isSymbolicLink()) {
        const linkTarget = readlinkSync(next);
        const resolved = path.resolve(current, linkTarget);
        if (path.isAbsolute(linkTarget) || (resolved !== root && !resolved.startsWith(`${root}/`))) {
          throw unsafe(entry, `it would be written through the symlink ${path.relative(root, next)} -> ${linkTarget}, which leaves the image`);
        }
        if (++hops > MAX_SYMLINK_HOPS) throw unsafe(entry, 'too many symlinks on the way');
        todo.unshift(...path.relative(root, resolved).split('/').filter(Boolean));
        current = root;
        continue;
      } else if (!st.isDirectory()) {
        if (!create) throw unsafe(entry, `${path.relative(root, next)} is not a directory`);
        rmSync(next, { force: true });
        mkdirSync(next, { mode: 0o755 });
        createdHere.add(next);
      }
      current = next;
    }
    return current;
  };

  /** The logical parts of a tar name, or an error for names that leave the root. */
  const partsOf = (name: string): string[] => {
    // The root itself may be spelled "/" (umoci writes it so); any other absolute name is refused.
    if (name.startsWith('/') && name.replace(/\/+$/, '') !== '') throw unsafe(name, 'it is an absolute path');
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw unsafe(name, 'it contains ".."');
    return parts;
  };

  const removeExisting = (at: string) => {
    let st: Stats | undefined;
    try {
      st = lstatSync(at);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      rmSync(at, { recursive: true, force: true });
      checked.clear();
    } else {
      unlinkSync(at);
      if (st.isSymbolicLink()) checked.clear();
    }
  };

  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    // The entry stream is destroyed along with the extractor on a failure; that failure is
    // reported once, by the extractor.
    stream.on('error', () => undefined);
    const done = (error?: unknown) => {
      if (error) {
        stream.resume();
        next(error as Error);
      } else next();
    };
    (async () => {
      options.signal?.throwIfAborted();
      if (++stats.entries > limits.maxEntries) {
        throw new SidebundleError('IMAGE_LAYER_TOO_LARGE', `${options.label} has more than ${limits.maxEntries} entries`, {
          input: options.label,
          hint: 'the layer looks like a tar bomb; it was not unpacked',
        });
      }
      const parts = partsOf(header.name);
      if (parts.length === 0) {
        stream.resume();
        return; // the root itself
      }
      const base = parts[parts.length - 1]!;
      const parentParts = parts.slice(0, -1);

      if (options.whiteouts !== false && base.startsWith('.wh.')) {
        stream.resume();
        const parent = place(parentParts, header.name, true);
        if (base === '.wh..wh..opq') {
          // Opaque: the directory shows only what this layer puts in it.
          for (const child of readdirSync(parent)) {
            const at = path.join(parent, child);
            if (!createdHere.has(at)) rmSync(at, { recursive: true, force: true });
          }
        } else {
          rmSync(path.join(parent, base.slice(4)), { recursive: true, force: true });
        }
        checked.clear();
        return;
      }

      const parent = place(parentParts, header.name, true);
      const at = path.join(parent, base);
      const mode = (header.mode ?? 0o644) & 0o1777; // setuid/setgid dropped: nothing here runs privileged
      const mtime = header.mtime ?? new Date(0);
      switch (header.type) {
        case 'file':
        case 'contiguous-file': {
          const size = header.size ?? 0;
          if (size > limits.maxFileBytes) {
            throw new SidebundleError('IMAGE_LAYER_TOO_LARGE', `${options.label}: ${header.name} is ${size} bytes, over the ${limits.maxFileBytes}-byte limit`, {
              input: options.label,
              hint: 'raise the limit if the image really holds such a file',
            });
          }
          stats.bytes += size;
          if (stats.bytes > limits.maxTotalBytes) {
            throw new SidebundleError('IMAGE_LAYER_TOO_LARGE', `${options.label} unpacks to more than ${limits.maxTotalBytes} bytes`, {
              input: options.label,
              hint: 'the layer looks like a decompression bomb; it was not unpacked',
            });
          }
          removeExisting(at);
          if (size <= SMALL_FILE) {
            // Most files of a rootfs are small: one write, no stream machinery per file.
            const chunks: Buffer[] = [];
            for await (const chunk of stream) chunks.push(chunk as Buffer);
            writeFileSync(at, Buffer.concat(chunks), { flag: 'wx', mode: 0o600 });
          } else {
            await pipeline(stream, createWriteStream(at, { flags: 'wx', mode: 0o600 }));
          }
          chmodSync(at, mode);
          utimesSync(at, mtime, mtime);
          createdHere.add(at);
          return;
        }
        case 'directory': {
          stream.resume();
          let st: Stats | undefined;
          try {
            st = lstatSync(at);
          } catch {
            st = undefined;
          }
          if (st && !st.isDirectory()) removeExisting(at);
          if (!st || !st.isDirectory()) mkdirSync(at);
          chmodSync(at, mode | 0o700); // we must be able to write into it while unpacking
          dirTimes.push([at, mtime]);
          createdHere.add(at);
          return;
        }
        case 'symlink': {
          stream.resume();
          removeExisting(at);
          symlinkSync(header.linkname ?? '', at);
          lutimesSync(at, mtime, mtime);
          createdHere.add(at);
          return;
        }
        case 'link': {
          stream.resume();
          const linkParts = partsOf(header.linkname ?? '');
          if (linkParts.length === 0) throw unsafe(header.name, 'it is a hard link to the root');
          const source = path.join(place(linkParts.slice(0, -1), header.name, false), linkParts[linkParts.length - 1]!);
          let st: Stats;
          try {
            st = lstatSync(source);
          } catch {
            throw unsafe(header.name, `it is a hard link to ${header.linkname}, which the layer has not created`);
          }
          if (st.isDirectory()) throw unsafe(header.name, `it is a hard link to the directory ${header.linkname}`);
          removeExisting(at);
          linkSync(source, at);
          createdHere.add(at);
          return;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo':
          stream.resume();
          stats.skipped.push(`${header.name} (${header.type}: provided by the target at run time)`);
          return;
        default:
          stream.resume();
          stats.skipped.push(`${header.name} (${header.type})`);
      }
    })().then(() => done(), done);
  });
  // Some writers (umoci 0.4) end a layer without padding its last block or writing the two zero
  // blocks of the end-of-archive marker; Go's reader tolerates that, so we do too by appending
  // them. Truncated content is not masked: layers are verified by digest before this point.
  // Wired by hand rather than with stream.pipeline: tar-stream's streams are streamx streams,
  // whose errors Node's pipeline does not always catch.
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      input.destroy();
      reject(error);
    };
    const input = Readable.from(withTrailer(source));
    extract.on('error', fail);
    extract.on('finish', () => (failed ? undefined : resolve()));
    input.on('error', (error) => {
      extract.destroy(error);
      fail(error);
    });
    source.on('error', fail);
    input.pipe(extract as unknown as NodeJS.WritableStream);
  });
  // Directory times last: creating entries in them changed them.
  for (const [dir, time] of dirTimes.reverse()) {
    try {
      utimesSync(dir, time, time);
    } catch {
      // removed by a later whiteout in the same layer
    }
  }
  return stats;
}
