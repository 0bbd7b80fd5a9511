// Hostile output and cache directories: a full, read-only or forbidden --out-dir, an empty one,
// a --cache-dir that is a file or read-only. Each is its own error code naming the directory,
// with a hint (never INTERNAL), and the previous bundle stays as it was with nothing beside it.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { treeDigest } from '../../lib/package/tree-digest';
import { cliPath, createBundle, repoRoot, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { leftovers } from '../package/manifest-check';

const dir = tempDir('sb-outdir-');
chmodSync(dir, 0o755);
// Mount points live apart from tempDir's directories, which are removed before our afterAll.
const mounts = mkdtempSync(path.join(os.tmpdir(), 'sb-outdir-mnt-'));
const mounted: string[] = [];

/** A fresh tmpfs of `size` at a new directory (tests run as root). */
function tmpfs(name: string, size: string): string | undefined {
  const at = path.join(mounts, name);
  mkdirSync(at);
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  mounted.push(at);
  return at;
}
afterAll(() => {
  for (const at of mounted.reverse()) spawnSync('umount', ['-l', at]);
  rmSync(mounts, { recursive: true, force: true });
});
const canMount = (() => {
  const probe = tmpfs('probe', '1m');
  return probe !== undefined;
})();
const withMount = canMount ? test : test.skip;
if (!canMount) console.warn('skipping the tmpfs tests: cannot mount (not root?)');

/** Fill `at` until only `free` bytes are left. */
function leaveFree(at: string, free: number): void {
  const stats = statfsSync(at);
  const available = stats.bavail * stats.bsize;
  expect(spawnSync('fallocate', ['-l', String(available - free), path.join(at, 'filler')]).status).toBe(0);
}

function failure(args: string[], options: { uid?: number } = {}) {
  const result = options.uid === undefined
    ? runCli(['create', ...args, '--json'])
    : spawnSync(process.execPath, [cliPath, 'create', ...args, '--json'], { cwd: repoRoot, encoding: 'utf8', uid: options.uid, gid: options.uid, env: { ...process.env, HOME: '/nonexistent' } });
  const parsed = JSON.parse(result.stdout || '{}');
  return { status: result.status, error: parsed.error ?? {}, stderr: result.stderr };
}

const jq = (out: string, ...more: string[]) => ['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out, '--no-cache', '--run-mode', 'host', '--trace-backend', 'off', ...more];

withMount('a full out dir: OUTPUT_NO_SPACE naming it (not SOURCE_UNREADABLE), exit 1, nothing left', () => {
  const out = tmpfs('full', '2m')!;
  const { status, error } = failure(jq(out));
  expect([status, error.code, error.input]).toEqual([1, 'OUTPUT_NO_SPACE', out]);
  expect(error.hint).toContain(out);
  expect(readdirSync(out)).toEqual([]);
});

withMount('no space while staging over a previous bundle: it stays intact', () => {
  const out = tmpfs('staging', '64m')!;
  const old = createBundle(jq(out));
  const before = treeDigest(old.dir);
  leaveFree(out, 1 << 20);
  const { status, error } = failure(jq(out, '--from-host', '/usr/bin/curl'));
  expect([status, error.code, error.input]).toEqual([1, 'OUTPUT_NO_SPACE', out]);
  expect(treeDigest(old.dir)).toBe(before);
  expect(leftovers(out)).toEqual([]);
});

withMount('no space for the single file: the bundle is not replaced either (both or neither)', () => {
  const out = tmpfs('single', '64m')!;
  const old = createBundle(jq(out));
  const before = treeDigest(old.dir);
  // Room for a second copy of the bundle (the staging), not for its .run as well.
  const bundleBytes = Number(spawnSync('du', ['-sB1', old.dir], { encoding: 'utf8' }).stdout.split('\t')[0]);
  leaveFree(out, bundleBytes + (512 << 10));
  const { status, error } = failure(jq(out, '--emit-single-file'));
  expect([status, error.code, error.input]).toEqual([1, 'OUTPUT_NO_SPACE', out]);
  expect(error.message).toContain(`cannot write the single file ${path.join(out, 'jq.run')}`); // it failed there, not earlier
  expect(treeDigest(old.dir)).toBe(before);
  expect(existsSync(path.join(out, 'jq.run'))).toBe(false);
  expect(leftovers(out)).toEqual([]);
});

withMount('a read-only out dir: OUTPUT_READ_ONLY naming it, exit 2, the previous bundle intact', () => {
  const out = tmpfs('ro', '16m')!;
  const old = createBundle(jq(out));
  const before = treeDigest(old.dir);
  expect(spawnSync('mount', ['-o', 'remount,ro', out]).status).toBe(0);
  const { status, error } = failure(jq(out, '--from-host', '/usr/bin/curl'));
  expect([status, error.code, error.input]).toEqual([2, 'OUTPUT_READ_ONLY', out]);
  expect(treeDigest(old.dir)).toBe(before);
  expect(leftovers(out)).toEqual([]);
});

const nobody = 65534;
const canRunAsNobody = spawnSync('true', [], { uid: nobody, gid: nobody }).status === 0;
(canRunAsNobody ? test : test.skip)('an out dir the user may not write: OUTPUT_UNWRITABLE naming it, exit 2', () => {
  const out = path.join(dir, 'roots');
  mkdirSync(out, { mode: 0o755 });
  const { status, error } = failure(jq(out), { uid: nobody });
  expect([status, error.code, error.input]).toEqual([2, 'OUTPUT_UNWRITABLE', out]);
  expect(readdirSync(out)).toEqual([]);
});

(canRunAsNobody ? test : test.skip)('a cache dir the user may not write: CACHE_UNWRITABLE naming it, exit 2', () => {
  const cacheDir = path.join(dir, 'roots-cache');
  mkdirSync(cacheDir, { mode: 0o755 });
  const out = path.join(dir, 'nobody-out');
  mkdirSync(out, { mode: 0o777 });
  const args = jq(out).filter((a) => a !== '--no-cache');
  const { status, error } = failure([...args, '--cache-dir', cacheDir], { uid: nobody });
  expect([status, error.code, error.input]).toEqual([2, 'CACHE_UNWRITABLE', cacheDir]);
  expect(readdirSync(out)).toEqual([]);
});

test("--out-dir '' is a bad option (it used to publish into the current directory)", () => {
  const cwd = path.join(dir, 'cwd');
  mkdirSync(cwd);
  const result = spawnSync(process.execPath, [cliPath, 'create', '--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', '', '--json'], { cwd, encoding: 'utf8' });
  expect(result.status).toBe(2);
  expect(JSON.parse(result.stdout).error.code).toBe('BAD_OPTION');
  expect(readdirSync(cwd)).toEqual([]);
});

test('a --cache-dir that is a file: CACHE_NOT_A_DIRECTORY naming it, exit 2, nothing published', () => {
  const file = path.join(dir, 'cache-file');
  writeFileSync(file, 'not a directory');
  const out = path.join(dir, 'out-cachefile');
  const { status, error } = failure([...jq(out).filter((a) => a !== '--no-cache'), '--cache-dir', file]);
  expect([status, error.code, error.input]).toEqual([2, 'CACHE_NOT_A_DIRECTORY', file]);
  expect(error.hint).toContain('--no-cache');
  expect(existsSync(out)).toBe(false);
});

withMount('a read-only --cache-dir (fresh, or already laid out): CACHE_READ_ONLY naming it, exit 2', () => {
  const out = path.join(dir, 'out-rocache');
  for (const layout of [false, true]) {
    const cacheDir = tmpfs(`rocache-${layout}`, '16m')!;
    if (layout) createBundle([...jq(out).filter((a) => a !== '--no-cache'), '--cache-dir', cacheDir, '--name', 'warm']);
    expect(spawnSync('mount', ['-o', 'remount,ro', cacheDir]).status).toBe(0);
    const { status, error } = failure([...jq(out).filter((a) => a !== '--no-cache'), '--cache-dir', cacheDir]);
    expect([layout, status, error.code, error.input]).toEqual([layout, 2, 'CACHE_READ_ONLY', cacheDir]);
    expect(existsSync(path.join(out, 'jq'))).toBe(false);
  }
});
