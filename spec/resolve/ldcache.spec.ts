import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../../lib/errors';
import { lookupLdCache, parseLdCache } from '../../lib/resolve/ldcache';
import { tempDir } from '../helpers/tmp';

/** `ldconfig -p` (glibc's own reader) as the oracle: x86-64 entries in file order. */
function ldconfigEntries(cacheFile: string) {
  const out = execFileSync('ldconfig', ['-p', '-C', cacheFile], { encoding: 'utf8' });
  return [...out.matchAll(/^\t(\S+) \(libc6,x86-64(?:, hwcap: "([^"]+)")?[^)]*\) => (\S+)$/gm)].map((m) => ({
    name: m[1]!,
    path: m[3]!,
    ...(m[2] ? { hwcaps: m[2] } : {}),
  }));
}

describe('ld.so.cache parser', () => {
  test('reads the host cache exactly as ldconfig -p does', () => {
    const cache = parseLdCache(readFileSync('/etc/ld.so.cache'), '/etc/ld.so.cache');
    expect(cache.entries.length).toBeGreaterThan(50);
    expect(cache.entries).toEqual(ldconfigEntries('/etc/ld.so.cache'));
    expect(lookupLdCache(cache, 'libc.so.6').path).toMatch(/\/libc\.so\.6$/);
  });

  test('reads glibc-hwcaps entries written by ldconfig, and treats them as variants', () => {
    const root = tempDir('sb-hwcaps-');
    const lib = path.join(root, 'usr/lib/x86_64-linux-gnu');
    mkdirSync(path.join(lib, 'glibc-hwcaps/x86-64-v3'), { recursive: true });
    mkdirSync(path.join(lib, 'glibc-hwcaps/x86-64-v2'), { recursive: true });
    mkdirSync(path.join(root, 'etc'));
    writeFileSync(path.join(root, 'etc/ld.so.conf'), '/usr/lib/x86_64-linux-gnu\n');
    const jq = execFileSync('readlink', ['-f', '/usr/lib/x86_64-linux-gnu/libjq.so.1'], { encoding: 'utf8' }).trim();
    copyFileSync(jq, path.join(lib, path.basename(jq)));
    symlinkSync(path.basename(jq), path.join(lib, 'libjq.so.1'));
    copyFileSync(jq, path.join(lib, 'glibc-hwcaps/x86-64-v3', path.basename(jq)));
    copyFileSync(jq, path.join(lib, 'glibc-hwcaps/x86-64-v2', path.basename(jq)));
    execFileSync('ldconfig', ['-r', root]);

    const file = path.join(root, 'etc/ld.so.cache');
    const cache = parseLdCache(readFileSync(file), file);
    expect(cache.entries).toEqual(ldconfigEntries(file));
    const hit = lookupLdCache(cache, 'libjq.so.1');
    expect(hit.path).toBe('/usr/lib/x86_64-linux-gnu/libjq.so.1');
    expect(hit.variants.map((v) => v.hwcaps).sort()).toEqual(['x86-64-v2', 'x86-64-v3']);
  });

  test('a damaged cache is a clear error, never a crash', () => {
    const good = readFileSync('/etc/ld.so.cache');
    expect(() => parseLdCache(Buffer.from('not a cache at all, just text'), 'x')).toThrow(SidebundleError);
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0x7fffffff, 20); // nlibs
    expect(() => parseLdCache(huge, 'x')).toThrow(/entries/);
    const badStrings = Buffer.from(good.subarray(0, 48 + 24 * 4));
    expect(() => parseLdCache(badStrings, 'x')).toThrow(SidebundleError);
  });
});
