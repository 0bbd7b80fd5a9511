// sidebundle-fingerprint, the native runtime input: it prints byte for byte what `sidebundle
// digest` prints for the same configuration and lock, without Node while nothing recorded changed,
// and runs the digest again once something did (a listed file edited, a file added to a listed
// directory). Needs dist/ and native/prebuilt/ (npm run build, npm run build:native).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { formatLock, lockOf } from '../../lib/config/lockfile';
import { mainPath, repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const binary = path.join(repoRoot, 'native/prebuilt/sidebundle-fingerprint');
const describeNative = existsSync(binary) ? describe : describe.skip;

/** A record is written only for files older than a second (a coarse ctime could hide an edit). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1100));

describeNative('sidebundle-fingerprint', () => {
  const base = tempDir('sb-fingerprint-');
  const ws = path.join(base, 'ws');
  const outside = path.join(base, 'outside');
  const plugin = path.join(outside, 'plugin.so');
  const pluginDir = path.join(outside, 'plugins');
  const replayDir = path.join(ws, 'node_modules/.cache/sidebundle/fingerprints');
  const config = 'apps/a/sidebundle.json';
  const nodeDir = path.dirname(process.execPath);
  // A copy of the built CLI, run as the Nx plugin runs it (main.js): a record depends on the
  // digest's own code, which a rebuild of dist/ during the test would change.
  const pkg = path.join(base, 'sidebundle');
  const main = path.join(pkg, path.relative(repoRoot, mainPath));

  beforeAll(async () => {
    cpSync(path.join(repoRoot, 'dist/lib'), path.join(pkg, 'dist/lib'), { recursive: true });
    copyFileSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
    mkdirSync(path.join(ws, 'apps/a'), { recursive: true });
    mkdirSync(pluginDir, { recursive: true });
    writeFileSync(plugin, 'v1');
    writeFileSync(path.join(pluginDir, 'a.so'), 'a');
    writeFileSync(path.join(ws, config), JSON.stringify({ name: 'a', entries: ['/usr/bin/jq'], cacheDir: path.join(base, 'cache') }));
    writeFileSync(path.join(ws, 'apps/a/sidebundle.lock'), formatLock(lockOf([
      { path: plugin, kind: 'file', sha256: 'recorded' },
      { path: path.join(outside, 'absent.so'), kind: 'absent' },
      { path: pluginDir, kind: 'listing', sha256: 'recorded' },
    ])));
    await settle();
  });

  /** The digest through the native binary: `node` is found on PATH, so a run without it on PATH
   * can only print what the record holds. */
  const native = (extra: string[], withNode = true) => {
    const r = spawnSync(binary, [replayDir, 'node', main, 'digest', '--config', config, ...extra], { cwd: ws, encoding: 'utf8', env: { ...process.env, PATH: withNode ? `${nodeDir}:/usr/bin:/bin` : '/nonexistent' } });
    return r.stdout;
  };
  const direct = (extra: string[]) => {
    const r = spawnSync(process.execPath, [main, 'digest', '--config', config, ...extra], { cwd: ws, encoding: 'utf8' });
    expect(r.status).toBe(0);
    return r.stdout;
  };

  test.each([[[]], [['--traced']]])('digest %j: the first run writes a record, the next ones replay it byte for byte', (extra: string[]) => {
    const expected = direct(extra);
    expect(expected).toMatch(extra.length ? /^listing \S+plugins [0-9a-f]{64}$/m : /libjq/);
    const before = existsSync(replayDir) ? readdirSync(replayDir).length : 0;
    expect(native(extra)).toBe(expected);
    expect(readdirSync(replayDir).length).toBe(before + 1);
    expect(native(extra, false)).toBe(expected);
    expect(native(extra, false)).toBe(expected);
  });

  test('a listed file edited: the record no longer holds and the digest runs again', async () => {
    const before = native(['--traced'], false);
    expect(before).toMatch(/^sidebundle /);
    writeFileSync(plugin, 'v2, longer');
    expect(native(['--traced'], false)).toMatch(/^error sidebundle-fingerprint cannot run node/);
    const after = native(['--traced']);
    expect(after).not.toBe(before);
    expect(after).toBe(direct(['--traced']));
    await settle();
    native(['--traced']); // writes the record again, now that the edit is older than a second
    expect(native(['--traced'], false)).toBe(after);
  });

  test('a file added to a listed directory, or a probed path appearing: the digest runs again', () => {
    const before = native(['--traced'], false);
    expect(before).toMatch(/^sidebundle /);
    writeFileSync(path.join(pluginDir, 'b.so'), 'b');
    expect(native(['--traced'], false)).toMatch(/^error sidebundle-fingerprint cannot run node/);
    expect(native(['--traced'])).not.toBe(before);
    writeFileSync(path.join(outside, 'absent.so'), 'here now');
    expect(native(['--traced'], false)).toMatch(/^error sidebundle-fingerprint cannot run node/);
    expect(native(['--traced'])).toBe(direct(['--traced']));
  });

  test('the configuration edited: the resolve digest runs again', async () => {
    const before = native([], false);
    expect(before).toMatch(/libjq/);
    writeFileSync(path.join(ws, config), JSON.stringify({ name: 'a', entries: ['/usr/bin/jq', '/usr/bin/python3'], cacheDir: path.join(base, 'cache') }));
    expect(native([], false)).toMatch(/^error sidebundle-fingerprint cannot run node/);
    expect(native([])).toMatch(/^file \/usr\/bin\/python3\.11 /m);
  });
});
