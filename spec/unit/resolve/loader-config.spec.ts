// findSystemDirs scans a loader image for glibc's system_dirs with Buffer#indexOf; the rule it
// keeps is the regular expression it replaced, kept here as the oracle: both must give the same
// answer on this machine's loader and on images built to hit every turn of the scan (names of
// one or two bytes, runs of one name, runs with no lengths array or the wrong one, runs that
// start before a match's lengths, bytes outside the name range) and on random ones.
import { readFileSync } from 'node:fs';

import { findSystemDirs } from '../../../lib/resolve/loader-config';
import { seededRandom } from '../../hostile/mutate';

const HOST_LOADER = '/lib64/ld-linux-x86-64.so.2';

/** The implementation findSystemDirs replaced, verbatim. */
function byRegExp(image: Buffer): string[] | undefined {
  const text = image.toString('latin1');
  const pattern = /(?:\/[\x21-\x7e]*\/\0){2,}/g;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const dirs = match[0].split('\0').filter((d) => d.length > 0);
    const lengthsAt = match.index - dirs.length * 8;
    if (lengthsAt < 0) continue;
    const lengthsMatch = dirs.every((dir, i) => image.readBigUInt64LE(lengthsAt + i * 8) === BigInt(dir.length));
    if (lengthsMatch) return dirs.map((d) => (d.length > 1 ? d.replace(/\/+$/, '') : d));
  }
  return undefined;
}

/** system_dirs as glibc lays it out: the lengths (u64 each), then the NUL-terminated names. */
function systemDirs(dirs: string[], lengths = dirs.map((d) => d.length)): Buffer {
  const table = Buffer.alloc(lengths.length * 8);
  lengths.forEach((length, i) => table.writeBigUInt64LE(BigInt(length), i * 8));
  return Buffer.concat([table, Buffer.from(dirs.map((d) => `${d}\0`).join(''), 'latin1')]);
}

const DEBIAN = ['/lib/x86_64-linux-gnu/', '/usr/lib/x86_64-linux-gnu/', '/lib/', '/usr/lib/'];

const CRAFTED: Array<[string, Buffer]> = [
  ['glibc layout alone', systemDirs(DEBIAN)],
  ['glibc layout after other bytes', Buffer.concat([Buffer.from('\x01\x02junk/x/\0'), systemDirs(DEBIAN), Buffer.from('tail')])],
  ['one name only', systemDirs(['/lib/'])],
  ['no lengths before the run', Buffer.from('/a/\0/b/\0')],
  ['wrong lengths, then right ones', Buffer.concat([systemDirs(['/x/', '/yy/'], [3, 9]), Buffer.from('\0'), systemDirs(['/lib64/', '/usr/lib64/'])])],
  ['shortest names', systemDirs(['//', '//', '//'])],
  ['a name whose first byte is not a slash', Buffer.concat([Buffer.alloc(16), Buffer.from('ab/c/\0/d/\0')])],
  ['printable bytes before the first slash', Buffer.concat([systemDirs(['/p/', '/q/']).subarray(0, 16), Buffer.from('zz/p/\0/q/\0')])],
  ['a space inside a name', Buffer.concat([Buffer.alloc(16), Buffer.from('/a b/\0/c/\0/d/\0')])],
  ['a run broken by a name without its closing slash', Buffer.concat([Buffer.alloc(24), Buffer.from('/a/\0/b\0/c/\0/d/\0')])],
  ['a name that is a single slash', Buffer.concat([Buffer.alloc(16), Buffer.from('/\0/\0/a/\0/b/\0')])],
  ['trailing slashes stripped, "//" kept', systemDirs(['/lib//', '//'])],
  ['a run at the very end without its last NUL', Buffer.concat([Buffer.alloc(16), Buffer.from('/a/\0/b/')])],
  ['bytes above 0x7e', Buffer.concat([Buffer.alloc(16), Buffer.from([0x2f, 0xe9, 0x2f, 0, 0x2f, 0x61, 0x2f, 0])])],
];

describe('findSystemDirs', () => {
  test.each(CRAFTED)('%s: the same answer as the regular expression', (_name, image) => {
    expect(findSystemDirs(image)).toEqual(byRegExp(image));
  });

  test('the crafted images include answers, not only misses', () => {
    expect(findSystemDirs(CRAFTED[0]![1])).toEqual(['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib', '/usr/lib']);
    expect(findSystemDirs(CRAFTED[4]![1])).toEqual(['/lib64', '/usr/lib64']);
    expect(CRAFTED.filter(([, image]) => byRegExp(image) === undefined).length).toBeGreaterThan(3);
  });

  test("this machine's loader: the same answer, and one", () => {
    const image = readFileSync(HOST_LOADER);
    const dirs = findSystemDirs(image);
    expect(dirs).toEqual(byRegExp(image));
    expect(dirs?.length).toBeGreaterThanOrEqual(2);
  });

  test('random images of names, tables and stray bytes: the same answer as the regular expression', () => {
    const random = seededRandom(13);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
    const alphabet = [0x2f, 0x2f, 0, 0, 0x61, 0x20, 0x7f, 1];
    const name = () => pick(['/', '//', '/a/', '/ab/', 'a/', '/a', '/a b/', '/lib//']);
    const piece = (): Buffer => {
      const kind = random();
      if (kind < 0.35) {
        const dirs = Array.from({ length: 1 + Math.floor(random() * 3) }, name);
        // Usually the right lengths; sometimes one is off, or the table is one entry short.
        const lengths = dirs.map((d) => d.length + (random() < 0.15 ? 1 : 0));
        return systemDirs(dirs, random() < 0.1 ? lengths.slice(1) : lengths);
      }
      if (kind < 0.6) return Buffer.from(`${name()}\0`, 'latin1');
      return Buffer.from(Array.from({ length: Math.floor(random() * 6) }, () => pick(alphabet)));
    };
    let found = 0;
    for (let n = 0; n < 3000; n++) {
      const image = Buffer.concat(Array.from({ length: 1 + Math.floor(random() * 6) }, piece));
      const expected = byRegExp(image);
      if (expected !== undefined) found++;
      expect(findSystemDirs(image)).toEqual(expected);
    }
    // Both kinds of answer were compared, many times each.
    expect(found).toBeGreaterThan(100);
    expect(found).toBeLessThan(2900);
  });
});
