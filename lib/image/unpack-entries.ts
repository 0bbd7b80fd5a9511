// One tar entry of a layer applied to its tree, by kind: regular files, directories, symlinks,
// hard links, whiteouts (`.wh.NAME`, `.wh..wh..opq`), and what is not materialised (devices,
// fifos). Existing files are unlinked before they are replaced, never written in place: a
// snapshot cloned with hard links from a lower one is never changed through them.
import { chmodSync, createWriteStream, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as tar from 'tar-stream';

import { overLimit, type ImageLimits, type LayerAllowance } from './limits';
import type { LayerTree, Refuse } from './unpack-tree';

const SMALL_FILE = 256 * 1024;
const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

export interface LayerStats {
  entries: number;
  /** Bytes of the (decompressed) tar stream read so far: what the layer unpacks to. */
  bytes: number;
  /** Entries not materialised (device nodes, fifos), with why. */
  skipped: string[];
}

/** What every entry of one layer shares. */
export interface LayerContext {
  tree: LayerTree;
  refuse: Refuse;
  limits: ImageLimits;
  /** How many bytes this layer may unpack to (the least of the layer, image and ratio limits). */
  allowance: LayerAllowance;
  stats: LayerStats;
  /** Interpret .wh. entries (image layers); off for a flat export of a container. */
  whiteouts: boolean;
  label: string;
  /** Directories and their times, set last (creating entries in them changes them). */
  dirTimes: Array<[string, Date]>;
}

/** Apply one entry; its content stream is consumed (or left for the caller to drain). */
export async function applyEntry(layer: LayerContext, header: tar.Header, stream: Readable): Promise<void> {
  const parts = layer.tree.partsOf(header.name);
  if (parts.length === 0) return; // the root itself
  const base = parts[parts.length - 1]!;
  const parentParts = parts.slice(0, -1);
  if (layer.whiteouts && base.startsWith(WHITEOUT)) return applyWhiteout(layer, header.name, parentParts, base);

  const at = path.join(layer.tree.place(parentParts, header.name, true), base);
  const mode = (header.mode ?? 0o644) & 0o1777; // setuid/setgid dropped: nothing here runs privileged
  const mtime = header.mtime ?? new Date(0);
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return writeFile(layer, header, stream, at, mode, mtime);
    case 'directory':
      return makeDirectory(layer, at, mode, mtime);
    case 'symlink':
      return makeSymlink(layer, at, header.linkname ?? '', mtime);
    case 'link':
      return makeHardLink(layer, header, at);
    case 'character-device':
    case 'block-device':
    case 'fifo':
      layer.stats.skipped.push(`${header.name} (${header.type}: provided by the target at run time)`);
      return;
    default:
      layer.stats.skipped.push(`${header.name} (${header.type})`);
  }
}

/**
 * The name a whiteout removes, or an error: one name in the whiteout's own directory, never
 * empty, `.` or `..` (`.wh...` would otherwise remove the directory above the root).
 */
export function whiteoutTarget(base: string, entry: string, refuse: Refuse): string {
  const name = base.slice(WHITEOUT.length);
  if (name === '' || name === '.' || name === '..' || name.includes('/')) {
    throw refuse(entry, `it is a whiteout of ${JSON.stringify(name)}, which is not a name in its directory`);
  }
  return name;
}

function applyWhiteout(layer: LayerContext, entry: string, parentParts: string[], base: string): void {
  const { tree } = layer;
  // Checked before the parent is placed: a refused whiteout creates nothing either.
  const name = base === OPAQUE ? undefined : whiteoutTarget(base, entry, layer.refuse);
  const parent = tree.place(parentParts, entry, true);
  if (name !== undefined) {
    tree.remove(path.join(parent, name));
    return;
  }
  // Opaque: the directory shows only what this layer puts in it.
  for (const child of readdirSync(parent)) {
    const at = path.join(parent, child);
    if (!tree.createdHere.has(at)) tree.remove(at);
  }
}

/** Refuse a file its header says is too large, before a byte of it is written. */
function checkFileSize(layer: LayerContext, name: string, size: number): void {
  const { limits, allowance, stats } = layer;
  if (size > limits.maxFileBytes) {
    throw overLimit('maxFileBytes', limits, `${layer.label}: ${name} is ${size} bytes, over the file limit (${limits.maxFileBytes} bytes)`, layer.label);
  }
  if (stats.bytes + size > allowance.bytes) {
    throw overLimit(allowance.limit, limits, `${layer.label}: ${name} is ${size} bytes, more than the layer may still unpack to under ${allowance.why}`, layer.label);
  }
}

async function writeFile(layer: LayerContext, header: tar.Header, stream: Readable, at: string, mode: number, mtime: Date): Promise<void> {
  const size = header.size ?? 0;
  checkFileSize(layer, header.name, size);
  layer.tree.removeExisting(at);
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
  layer.tree.createdHere.add(at);
}

function makeDirectory(layer: LayerContext, at: string, mode: number, mtime: Date): void {
  let st: Stats | undefined;
  try {
    st = lstatSync(at);
  } catch {
    st = undefined;
  }
  if (st && !st.isDirectory()) layer.tree.removeExisting(at);
  if (!st || !st.isDirectory()) mkdirSync(at);
  chmodSync(at, mode | 0o700); // we must be able to write into it while unpacking
  layer.dirTimes.push([at, mtime]);
  layer.tree.createdHere.add(at);
}

function makeSymlink(layer: LayerContext, at: string, linkname: string, mtime: Date): void {
  layer.tree.removeExisting(at);
  symlinkSync(linkname, at);
  lutimesSync(at, mtime, mtime);
  layer.tree.createdHere.add(at);
}

/** A hard link to a file this tree already has (never a directory, never outside). */
function makeHardLink(layer: LayerContext, header: tar.Header, at: string): void {
  const { tree, refuse } = layer;
  const linkParts = tree.partsOf(header.linkname ?? '');
  if (linkParts.length === 0) throw refuse(header.name, 'it is a hard link to the root');
  const source = path.join(tree.place(linkParts.slice(0, -1), header.name, false), linkParts[linkParts.length - 1]!);
  let st: Stats;
  try {
    st = lstatSync(source);
  } catch {
    throw refuse(header.name, `it is a hard link to ${header.linkname}, which the layer has not created`);
  }
  if (st.isDirectory()) throw refuse(header.name, `it is a hard link to the directory ${header.linkname}`);
  tree.removeExisting(at);
  linkSync(source, at);
  tree.createdHere.add(at);
}
