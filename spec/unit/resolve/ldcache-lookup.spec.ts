// The lazy ld.so.cache reader (openLdCache, what `resolve` uses) against the whole-file parser
// (parseLdCache): the same answer for every name, on this machine's cache, on caches in the wrong
// order or with names stored twice, and on truncated and mutated ones, where both must fail alike.
import { readFileSync } from 'node:fs';

import { isSidebundleError } from '../../../lib/errors';
import { lookupLdCache, openLdCache, parseLdCache, type LdCache } from '../../../lib/resolve/ldcache';
import { applyMutations, randomMutations, seededRandom, type Field } from '../../hostile/mutate';

const HOST = '/etc/ld.so.cache';
const NEW_HEADER = 48;
const NEW_ENTRY = 24;


/** Either the value or the error message: failures must match too. */
function outcome<T>(body: () => T): { value: T } | { error: string } {
  try {
    return { value: body() };
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    return { error: `${error.code}: ${error.message}` };
  }
}

/** The lookups of every name in `names` (each name's entries and lookupLdCache's answer). */
function answers(cache: LdCache, names: Iterable<string>) {
  return [...names].map((name) => ({ name, entries: cache.entriesFor(name), lookup: lookupLdCache(cache, name) }));
}

/** Names worth asking a cache: every key it has, near misses, and names it lacks. */
function namesOf(...caches: LdCache[]): Set<string> {
  const names = new Set(['libc.so.6', 'libnot-there.so.1', '', 'a', 'zzzz', 'lib', 'libc.so', 'libc.so.06', 'libc.so.6.0']);
  for (const cache of caches) for (const e of cache.entries) names.add(e.name).add(`${e.name}x`).add(e.name.slice(0, -1));
  return names;
}

describe('openLdCache answers as parseLdCache does', () => {
  const host = readFileSync(HOST);

  test("for every name in this machine's cache, and names it lacks", () => {
    const full = parseLdCache(host, HOST);
    const lazy = openLdCache(host, HOST);
    const names = namesOf(full);
    expect(answers(lazy, names)).toEqual(answers(full, names));
    expect(lookupLdCache(lazy, 'libc.so.6').path).toMatch(/\/libc\.so\.6$/);
    // Every entry is found under its own name by the binary search.
    for (const entry of full.entries) expect(lazy.entriesFor(entry.name)).toContainEqual(entry);
    expect(lazy.entries).toEqual(full.entries);
  });

  test('for a name two entries point at, and a name stored twice', () => {
    // A copy of the name after the end of the image: a key may point anywhere in it.
    const twice = Buffer.concat([host, Buffer.from('libc.so.6\0', 'latin1')]);
    const full0 = parseLdCache(host, HOST);
    const keyOf = (i: number) => twice.readUInt32LE(NEW_HEADER + i * NEW_ENTRY + 4);
    const libc = full0.entries.findIndex((e) => e.name === 'libc.so.6');
    expect(libc).toBeGreaterThan(5); // ldconfig -p lists x86-64 entries only: the same indices here
    // Entry 1 answers to libc.so.6 through the same stored name, entry 3 through the copy.
    twice.writeUInt32LE(keyOf(libc), NEW_HEADER + 1 * NEW_ENTRY + 4);
    twice.writeUInt32LE(host.length, NEW_HEADER + 3 * NEW_ENTRY + 4);
    const full = parseLdCache(twice, 'x');
    expect(full.entriesFor('libc.so.6').length).toBe(3);
    const names = namesOf(full);
    expect(answers(openLdCache(twice, 'x'), names)).toEqual(answers(full, names));
  });

  test('for a cache whose entries are out of order', () => {
    const shuffled = Buffer.from(host);
    const count = shuffled.readUInt32LE(20);
    // Reverse the table: ascending instead of descending.
    for (let i = 0; i < count / 2; i++) {
      const a = NEW_HEADER + i * NEW_ENTRY;
      const b = NEW_HEADER + (count - 1 - i) * NEW_ENTRY;
      const saved = Buffer.from(shuffled.subarray(a, a + NEW_ENTRY));
      shuffled.copy(shuffled, a, b, b + NEW_ENTRY);
      saved.copy(shuffled, b);
    }
    const full = parseLdCache(shuffled, 'x');
    expect(full.entries[0]!.name).not.toBe(parseLdCache(host, HOST).entries[0]!.name);
    const names = namesOf(full);
    expect(answers(openLdCache(shuffled, 'x'), names)).toEqual(answers(full, names));
  });

  test('for truncated caches: the same entries or the same error', () => {
    const names = namesOf(parseLdCache(host, HOST));
    const lengths = new Set([0, 10, 47, 48, 49, 100, 1000, host.length - 1, host.length - 100]);
    for (let n = 0; n < host.length; n += 997) lengths.add(n);
    let failed = 0;
    for (const length of lengths) {
      const cut = host.subarray(0, length);
      const full = outcome(() => parseLdCache(cut, 'cut'));
      const lazy = outcome(() => openLdCache(cut, 'cut'));
      if ('error' in full) {
        failed++;
        expect({ length, ...lazy }).toEqual({ length, ...full });
      } else {
        expect('value' in lazy && answers(lazy.value, names)).toEqual(answers(full.value, names));
      }
    }
    expect(failed).toBeGreaterThan(5);
  });

  test('for 400 mutated caches (counts, string offsets, flags): the same entries or the same error', () => {
    const names = [...namesOf()];
    const fields: Field[] = [
      { name: 'nlibs', offset: 20, size: 4 as const },
      { name: 'extension', offset: 32, size: 4 as const },
      ...[0, 1, 2, 200, 300, 400, 600].flatMap((i) => [
        { name: `flags${i}`, offset: NEW_HEADER + i * NEW_ENTRY, size: 4 as const },
        { name: `key${i}`, offset: NEW_HEADER + i * NEW_ENTRY + 4, size: 4 as const },
        { name: `value${i}`, offset: NEW_HEADER + i * NEW_ENTRY + 8, size: 4 as const },
        { name: `hwcap${i}`, offset: NEW_HEADER + i * NEW_ENTRY + 16, size: 8 as const },
      ]),
    ].filter((f) => f.offset + f.size <= host.length);
    const random = seededRandom(0x1dca);
    const seen = { same: 0, failed: 0 };
    for (let i = 0; i < 400; i++) {
      const mutated = applyMutations(host, randomMutations(random, host, fields));
      const full = outcome(() => parseLdCache(mutated, 'fuzzed'));
      const lazy = outcome(() => openLdCache(mutated, 'fuzzed'));
      if ('error' in full) {
        seen.failed++;
        expect({ i, ...lazy }).toEqual({ i, ...full });
        continue;
      }
      expect('value' in lazy).toBe(true);
      if (!('value' in lazy)) continue;
      const asked = new Set([...names.slice(0, 12), ...full.value.entries.map((e) => e.name)]);
      const [got, want] = [answers(lazy.value, asked), answers(full.value, asked)];
      // Compared as text (Jest's deep equality is slow over thousands of answers); a
      // difference is then shown in full.
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ i, answers: got }).toEqual({ i, answers: want });
      seen.same++;
    }
    expect(seen.failed).toBeGreaterThan(0);
    expect(seen.same).toBeGreaterThan(50);
  });
});
