// The hwcap field of an ld.so.cache entry is read as two 32-bit words, not as a BigInt: the
// decision it drives (a plain entry, a glibc-hwcaps entry and which level, or an entry ld.so
// ignores) is checked here against the BigInt arithmetic it replaced, for values around every
// bit that matters, on this machine's cache with one entry's field rewritten.
import { readFileSync } from 'node:fs';

import { parseLdCache } from '../../../lib/resolve/ldcache';

const HOST = '/etc/ld.so.cache';
const NEW_HEADER = 48;
const NEW_ENTRY = 24;
const X86_64_LIBC6 = 0x0303;

/** The glibc-hwcaps names of the cache's extension (as glibc's dl-cache.c reads them). */
function hwcapNames(data: Buffer): string[] {
  const at = data.readUInt32LE(32);
  if (at === 0 || data.readUInt32LE(at) !== 0xeaa42174) return [];
  for (let s = 0; s < data.readUInt32LE(at + 4); s++) {
    const section = at + 8 + s * 16;
    if (data.readUInt32LE(section) !== 1) continue;
    const [offset, size] = [data.readUInt32LE(section + 8), data.readUInt32LE(section + 12)];
    return Array.from({ length: size / 4 }, (_, k) => {
      const start = data.readUInt32LE(offset + k * 4);
      return data.toString('utf8', start, data.indexOf(0, start));
    });
  }
  return [];
}

/** The host cache with a glibc-hwcaps section naming three levels in place of its first
 * extension section (this machine's has only ldconfig's generator string). */
function withLevels(host: Buffer): Buffer {
  const levels = ['x86-64-v4', 'x86-64-v3', 'x86-64-v2'];
  const arrayAt = (host.length + 3) & ~3;
  const table = Buffer.alloc(levels.length * 4);
  let at = arrayAt + table.length;
  levels.forEach((level, k) => {
    table.writeUInt32LE(at, k * 4);
    at += level.length + 1;
  });
  const data = Buffer.concat([host, Buffer.alloc(arrayAt - host.length), table, Buffer.from(levels.map((l) => `${l}\0`).join(''), 'latin1')]);
  const extension = data.readUInt32LE(32);
  expect(data.readUInt32LE(extension + 4)).toBeGreaterThanOrEqual(1);
  data.writeUInt32LE(1, extension + 8);
  data.writeUInt32LE(arrayAt, extension + 16);
  data.writeUInt32LE(table.length, extension + 20);
  return data;
}

/** The former decision, verbatim in its arithmetic: undefined when ld.so ignores the entry. */
function expected(hwcap: bigint, names: string[]): { hwcaps?: string } | undefined {
  const HWCAP_EXTENSION = 1n << 62n;
  const ISA_LEVEL_MASK = (1n << 10n) - 1n;
  if (((hwcap >> 32n) & ~ISA_LEVEL_MASK) === HWCAP_EXTENSION >> 32n) {
    const hwcaps = names[Number(hwcap & 0xffffffffn)];
    return hwcaps === undefined ? undefined : { hwcaps };
  }
  return hwcap !== 0n ? undefined : {};
}

describe('an entry\'s hwcap field', () => {
  const host = withLevels(readFileSync(HOST));
  const names = hwcapNames(host);
  const count = host.readUInt32LE(20);
  const index = Array.from({ length: count }, (_, i) => i).find((i) => host.readInt32LE(NEW_HEADER + i * NEW_ENTRY) === X86_64_LIBC6)!;
  const field = NEW_HEADER + index * NEW_ENTRY + 16;
  const plain = parseLdCache(host, HOST).entries.find((e) => e.hwcaps === undefined)!;

  const ext = 1n << 62n;
  const values = [
    0n, 1n, 2n, 0xffffffffn, 1n << 31n, 1n << 32n, 1n << 41n, 1n << 42n, 1n << 61n, 1n << 63n, (1n << 64n) - 1n,
    ext, ext | 1n, ext | 2n, ext | 3n, ext | 0xffffffffn, ext | (0x401n << 32n) | 1n, ext | (1n << 32n), ext | (0x3ffn << 32n), ext | (0x400n << 32n),
    ext | (1n << 63n), ext | (1n << 61n), ext | (0x3ffn << 32n) | 1n, 3n << 62n,
  ];

  test.each(values.map((v) => [`0x${v.toString(16)}`, v] as const))('hwcap %s', (_hex, value) => {
    const data = Buffer.from(host);
    data.writeBigUInt64LE(value, field);
    const name = data.toString('utf8', data.readUInt32LE(field - 12), data.indexOf(0, data.readUInt32LE(field - 12)));
    const path = data.toString('utf8', data.readUInt32LE(field - 8), data.indexOf(0, data.readUInt32LE(field - 8)));
    const want = expected(value, names);
    const entries = parseLdCache(data, HOST).entries;
    const before = parseLdCache(host, HOST).entries.filter((e) => e.name === name && e.path === path).length;
    const now = entries.filter((e) => e.name === name && e.path === path);
    if (want === undefined) {
      expect(now.length).toBe(before - 1);
    } else {
      expect(now).toContainEqual({ name, path, ...want });
    }
  });

  test('the cases cover kept and ignored entries, with and without a level', () => {
    expect(plain).toBeDefined();
    const outcomes = values.map((v) => expected(v, names));
    expect(outcomes.some((o) => o === undefined)).toBe(true);
    expect(outcomes.some((o) => o !== undefined && o.hwcaps === undefined)).toBe(true);
    expect(names).toEqual(['x86-64-v4', 'x86-64-v3', 'x86-64-v2']);
    expect(outcomes.filter((o) => o?.hwcaps !== undefined).length).toBeGreaterThan(3);
  });
});
