// /etc/ld.so.cache, parsed in its binary format the way glibc's dl-cache.c reads it: the
// `glibc-ld.so.cache1.1` table (alone, or after the old `ld.so-1.7.0` table), x86-64 entries
// only, and the glibc-hwcaps extension that marks entries living in glibc-hwcaps/<level>/.
// parseLdCache decodes a cache whole; openLdCache checks it whole but decodes only the names
// looked up (what `resolve`, which looks up a handful, uses).
import * as os from 'node:os';

import { SidebundleError } from '../errors';

const OLD_MAGIC = 'ld.so-1.7.0';
const NEW_MAGIC = 'glibc-ld.so.cache1.1';
const OLD_HEADER = 16; // magic[11] + pad, nlibs: sizeof(struct cache_file) on x86-64
const OLD_ENTRY = 12;
const NEW_HEADER = 48;
const NEW_ENTRY = 24;
const EXTENSION_MAGIC = 0xeaa42174;
const EXTENSION_TAG_GLIBC_HWCAPS = 1;
/** FLAG_ELF_LIBC6 | FLAG_X8664_LIB64: the only entries an x86-64 ld.so accepts. */
const X86_64_LIBC6 = 0x0303;
/** DL_CACHE_HWCAP_EXTENSION (bit 62 of hwcap, so bit 30 of its high word): the low 32 bits of
 * hwcap index the glibc-hwcaps names. The high word is read as a number, not hwcap as a BigInt. */
const HWCAP_EXTENSION_HIGH = 1 << 30;
/** The ISA-level bits beside it: the low 10 bits of the high word. */
const ISA_LEVEL_BITS = 10;

export interface LdCacheEntry {
  /** The soname the entry answers to. */
  name: string;
  /** Absolute path (inside the root the cache belongs to). */
  path: string;
  /** glibc-hwcaps subdirectory name (`x86-64-v3`) for hwcaps entries. */
  hwcaps?: string;
}

/** The x86-64 entries of a cache. */
export interface LdCache {
  /** All of them in file order (ldconfig's sort order); a lazily read cache decodes them all on first use. */
  readonly entries: LdCacheEntry[];
  /** Those answering to `name`, in file order (hwcaps entries come first, as ldconfig writes them). */
  entriesFor(name: string): LdCacheEntry[];
}

function indexed(entries: LdCacheEntry[]): LdCache {
  const byName = new Map<string, LdCacheEntry[]>();
  for (const entry of entries) {
    const list = byName.get(entry.name);
    if (list) list.push(entry);
    else byName.set(entry.name, [entry]);
  }
  return { entries, entriesFor: (name) => byName.get(name) ?? [] };
}

/** Where the new-format table starts, or 'old' for an old-format-only cache (which has no
 * hwcaps and is read whole). Throws on an image with no magic. */
function locateNewTable(data: Buffer, source: string): number | 'old' {
  const asText = (at: number, length: number) => data.toString('latin1', at, at + length);
  if (data.length >= NEW_HEADER && asText(0, NEW_MAGIC.length) === NEW_MAGIC) return 0;
  if (data.length >= OLD_HEADER && asText(0, OLD_MAGIC.length) === OLD_MAGIC) {
    const oldCount = data.readUInt32LE(12);
    // The new table follows the old one, aligned like struct cache_file_new (8 bytes).
    const newStart = align8(OLD_HEADER + oldCount * OLD_ENTRY);
    if (newStart + NEW_HEADER > data.length || asText(newStart, NEW_MAGIC.length) !== NEW_MAGIC) return 'old';
    return newStart;
  }
  throw corrupt(source, 'it does not start with an ld.so.cache magic');
}

/** The new table's entry count, checked against the image size. */
function newTableCount(data: Buffer, newStart: number, source: string): number {
  const count = data.readUInt32LE(newStart + 20);
  if (count > (data.length - newStart - NEW_HEADER) / NEW_ENTRY) throw corrupt(source, `it claims ${count} entries but is only ${data.length} bytes`);
  return count;
}

/** Decode new-table entry `i` (undefined for an entry ld.so would not use on x86-64). */
function decodeEntry(data: Buffer, newStart: number, i: number, hwcapNames: () => string[], source: string): LdCacheEntry | undefined {
  const at = newStart + NEW_HEADER + i * NEW_ENTRY;
  const flags = data.readInt32LE(at);
  if (flags !== X86_64_LIBC6) return undefined;
  const name = cstring(data, newStart + data.readUInt32LE(at + 4));
  const path = cstring(data, newStart + data.readUInt32LE(at + 8));
  if (name === undefined || path === undefined) throw corrupt(source, `entry ${i} points outside the string table`);
  const hwcapLow = data.readUInt32LE(at + 16);
  const hwcapHigh = data.readUInt32LE(at + 20);
  const entry: LdCacheEntry = { name, path };
  if (hwcapHigh >>> ISA_LEVEL_BITS === HWCAP_EXTENSION_HIGH >>> ISA_LEVEL_BITS) {
    const hwcaps = hwcapNames()[hwcapLow];
    if (hwcaps === undefined) return undefined; // glibc ignores entries with an unknown index too
    entry.hwcaps = hwcaps;
  } else if (hwcapLow !== 0 || hwcapHigh !== 0) {
    return undefined; // legacy hwcap (platform/tls) entries: gone since glibc 2.37, not produced for x86-64 levels
  }
  return entry;
}

/** Parse an ld.so.cache image whole. `source` names the file in errors. */
export function parseLdCache(data: Buffer, source: string): LdCache {
  const newStart = locateNewTable(data, source);
  if (newStart === 'old') return indexed(parseOld(data, data.readUInt32LE(12), source));
  const count = newTableCount(data, newStart, source);
  let names: string[] | undefined;
  const hwcapNames = () => (names ??= readHwcapNames(data, data.readUInt32LE(newStart + 32)));
  const entries: LdCacheEntry[] = [];
  for (let i = 0; i < count; i++) {
    const entry = decodeEntry(data, newStart, i, hwcapNames, source);
    if (entry) entries.push(entry);
  }
  return indexed(entries);
}

/**
 * A cache read lazily, for a command that looks up a handful of names: every entry's offsets are
 * checked up front (a damaged cache fails here exactly as in parseLdCache) and the x86-64 entries
 * indexed by where their name starts, but only the entries a lookup asks for are decoded. A
 * lookup finds the places its name is stored (Buffer.indexOf) and takes the entries whose key
 * points there: the answer parseLdCache gives, for any cache, sorted or not.
 */
export function openLdCache(data: Buffer, source: string): LdCache {
  const newStart = locateNewTable(data, source);
  if (newStart === 'old' || os.endianness() !== 'LE') return parseLdCache(data, source);
  const count = newTableCount(data, newStart, source);
  const byKey = indexByKey(data, newStart, count, source);
  let names: string[] | undefined;
  const hwcapNames = () => (names ??= readHwcapNames(data, data.readUInt32LE(newStart + 32)));
  let whole: LdCache | undefined;
  const decoded = () => (whole ??= parseLdCache(data, source));
  return {
    get entries() {
      return decoded().entries;
    },
    entriesFor(name: string): LdCacheEntry[] {
      // Keys are decoded as UTF-8 and compared as strings; a name with U+FFFD can equal a key
      // whose bytes are not its bytes (any invalid sequence decodes to U+FFFD).
      if (name.includes('\uFFFD')) return decoded().entriesFor(name);
      if (name.includes('\0')) return [];
      const stored = Buffer.from(`${name}\0`, 'utf8');
      const indices: number[] = [];
      for (let at = data.indexOf(stored, newStart); at !== -1; at = data.indexOf(stored, at + 1)) indices.push(...(byKey.get(at - newStart) ?? []));
      indices.sort((a, b) => a - b);
      const found: LdCacheEntry[] = [];
      for (const i of indices) {
        const entry = decodeEntry(data, newStart, i, hwcapNames, source);
        if (entry !== undefined) found.push(entry);
      }
      return found;
    },
  };
}

/**
 * The x86-64 entries by key offset (relative to the table, as stored), in file order; throws
 * as parseLdCache does for the first one whose strings lie outside the image.
 */
function indexByKey(data: Buffer, newStart: number, count: number, source: string): Map<number, number[]> {
  // A typed-array view reads the table without a call per field (this loop runs for every
  // entry at every start of `resolve`); a buffer that is not 4-byte aligned is copied first.
  const words = (data.byteOffset + newStart) % 4 === 0 ? data : Buffer.from(data);
  const table = new Uint32Array(words.buffer, words.byteOffset + newStart + NEW_HEADER, count * (NEW_ENTRY / 4));
  // cstring finds a string at `at` when a NUL follows it: when the last NUL is at or after it.
  const lastNul = data.lastIndexOf(0);
  const limit = Math.min(data.length - 1, lastNul) - newStart;
  const byKey = new Map<number, number[]>();
  for (let i = 0, at = 0; i < count; i++, at += NEW_ENTRY / 4) {
    if (table[at] !== X86_64_LIBC6) continue;
    const key = table[at + 1]!;
    if (key > limit || table[at + 2]! > limit) throw corrupt(source, `entry ${i} points outside the string table`);
    const list = byKey.get(key);
    if (list) list.push(i);
    else byKey.set(key, [i]);
  }
  return byKey;
}

function parseOld(data: Buffer, count: number, source: string): LdCacheEntry[] {
  const strings = OLD_HEADER + count * OLD_ENTRY;
  if (strings > data.length) throw corrupt(source, `it claims ${count} entries but is only ${data.length} bytes`);
  const entries: LdCacheEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = OLD_HEADER + i * OLD_ENTRY;
    if (data.readInt32LE(at) !== X86_64_LIBC6) continue;
    const name = cstring(data, strings + data.readUInt32LE(at + 4));
    const path = cstring(data, strings + data.readUInt32LE(at + 8));
    if (name !== undefined && path !== undefined) entries.push({ name, path });
  }
  return entries;
}

/** The glibc-hwcaps extension: an array of string offsets (from the start of the file). */
function readHwcapNames(data: Buffer, extensionOffset: number): string[] {
  if (extensionOffset === 0 || extensionOffset % 4 !== 0 || extensionOffset + 8 > data.length) return [];
  if (data.readUInt32LE(extensionOffset) !== EXTENSION_MAGIC) return [];
  const sections = data.readUInt32LE(extensionOffset + 4);
  if (extensionOffset + 8 + sections * 16 > data.length) return [];
  for (let s = 0; s < sections; s++) {
    const at = extensionOffset + 8 + s * 16;
    if (data.readUInt32LE(at) !== EXTENSION_TAG_GLIBC_HWCAPS) continue;
    const offset = data.readUInt32LE(at + 8);
    const size = data.readUInt32LE(at + 12);
    if (size % 4 !== 0 || offset % 4 !== 0 || offset + size > data.length) return [];
    const names: string[] = [];
    for (let k = 0; k < size / 4; k++) names.push(cstring(data, data.readUInt32LE(offset + k * 4)) ?? '');
    return names;
  }
  return [];
}

function cstring(data: Buffer, at: number): string | undefined {
  if (at >= data.length) return undefined;
  const end = data.indexOf(0, at);
  if (end === -1) return undefined;
  return data.toString('utf8', at, end);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function corrupt(source: string, why: string): SidebundleError {
  return new SidebundleError('LDCACHE_CORRUPT', `${source} is not a valid ld.so.cache: ${why}`, {
    input: source,
    hint: 'run ldconfig in that root to regenerate it, or remove it (the default directories are still searched)',
  });
}

/**
 * Look `name` up as ld.so does: the baseline (non-hwcaps) entry is what a CPU without the
 * newer ISA levels loads, so it is the canonical answer; hwcaps entries are its variants.
 */
export function lookupLdCache(cache: LdCache, name: string): { path?: string; variants: LdCacheEntry[] } {
  const matches = cache.entriesFor(name);
  const baseline = matches.find((e) => e.hwcaps === undefined);
  return { ...(baseline ? { path: baseline.path } : {}), variants: matches.filter((e) => e.hwcaps !== undefined) };
}
