// sidebundle.lock: which traced files it lists, what collection looked at (paths probed, absent
// ones too, and directories listed), and that it is written deterministically.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { StepCache } from '../../../lib/cache/step-cache';
import { tracedFingerprint } from '../../../lib/cli/digest';
import { collect } from '../../../lib/collect';
import { collectionInputs, formatLock, lockedPaths, lockFileOf, lockOf, readLock, writeLock } from '../../../lib/config/lockfile';
import type { ClosureFile, ResolvedClosure } from '../../../lib/model/closure';
import { tempDir } from '../../helpers/tmp';

const file = (p: string, from?: string): ClosureFile => ({ path: p, ...(from ? { from } : {}), size: 1, mode: 0o644, sha256: 'x', kind: 'data', reasons: [] });
const closure = (files: ClosureFile[], symlinks: Array<{ path: string; target: string }> = []): ResolvedClosure => ({
  schema: 'sidebundle/closure@1', root: '/', entries: [], files, symlinks, missing: [], excluded: [], diagnostics: [],
});

test('lists what the trace added outside the workspace, sorted, and nothing the static closure has', () => {
  const paths = lockedPaths([{
    root: '/',
    static: closure([file('/usr/lib/libc.so.6')]),
    traced: closure([file('/usr/lib/python3.11/os.py'), file('/usr/lib/libc.so.6'), file('/ws/apps/tool/helper.py'), file('/opt/plugin.so')], [{ path: '/usr/lib/libz.so.1', target: 'libz.so.1.3' }]),
  }], '/ws');
  expect(paths).toEqual(['/opt/plugin.so', '/usr/lib/libz.so.1', '/usr/lib/python3.11/os.py']);
});

test('files of a trace root are listed at their host path; image groups not at all', () => {
  const traced = closure([file('/usr/lib/plugin.so')]);
  expect(lockedPaths([{ root: '/roots/a', static: closure([]), traced }], '/ws')).toEqual(['/roots/a/usr/lib/plugin.so']);
  expect(lockedPaths([{ root: '/images/x', static: closure([]), traced, image: { reference: 'x' } }], '/ws')).toEqual([]);
});

test('a path beside the workspace that shares its prefix is outside it', () => {
  expect(lockedPaths([{ root: '/', static: closure([]), traced: closure([file('/ws2/lib.so')]) }], '/ws')).toEqual(['/ws2/lib.so']);
});

test('the lock is deterministic and rewritten only when it changes', () => {
  const dir = tempDir('sb-lock-');
  const lockFile = lockFileOf(path.join(dir, 'sidebundle.json'));
  expect(lockFile).toBe(path.join(dir, 'sidebundle.lock'));
  const lock = lockOf([
    { path: '/b', kind: 'file', sha256: 'bb' },
    { path: '/a', kind: 'link', target: 'b' },
    { path: '/c', kind: 'absent' },
  ]);
  expect(Object.keys(lock.files)).toEqual(['/a', '/b', '/c']);
  expect(formatLock(lock)).toBe(`{\n  "schema": "sidebundle/lock@1",\n  "files": {\n    "/a": "-> b",\n    "/b": "bb",\n    "/c": "absent"\n  }\n}\n`);
  expect(writeLock(lockFile, lock)).toBe(true);
  const mtime = statSync(lockFile).mtimeMs;
  expect(writeLock(lockFile, lockOf([{ path: '/c', kind: 'absent' }, { path: '/b', kind: 'file', sha256: 'bb' }, { path: '/a', kind: 'link', target: 'b' }]))).toBe(false);
  expect(statSync(lockFile).mtimeMs).toBe(mtime);
  expect(readLock(lockFile)).toEqual(lock);
  expect(readFileSync(lockFile, 'utf8')).toBe(formatLock(lock));
});

test('a missing lock reads as none; a damaged one is an error naming it', () => {
  const dir = tempDir('sb-lock-');
  expect(readLock(path.join(dir, 'sidebundle.lock'))).toBeUndefined();
  writeFileSync(path.join(dir, 'sidebundle.lock'), '{ "files": ');
  expect(() => readLock(path.join(dir, 'sidebundle.lock'))).toThrow(/sidebundle\.lock is not valid JSON/);
});

test('collection inputs: outside the workspace, not the directories above it, not of an image, sorted once', () => {
  const read = { paths: ['/usr/lib/python3.11/os.py', '/ws/apps/a/x.py', '/', '/usr/lib64', '/usr/lib/python3.11/os.py'], listings: ['/usr/lib/python3.11', '/ws/apps/a', '/ws2/site'] };
  expect(collectionInputs([{ collectedFrom: read }, { collectedFrom: { paths: ['/images/x/usr/lib/a.py'], listings: ['/images/x/usr/lib'] }, image: { reference: 'x' } }, {}], '/ws')).toEqual({
    paths: ['/usr/lib/python3.11/os.py', '/usr/lib64'],
    listings: ['/usr/lib/python3.11', '/ws2/site'],
  });
});

test('listings have their own map in the lock; a lock whose listings are not a map is an error', () => {
  const dir = tempDir('sb-lock-');
  const lock = lockOf([{ path: '/usr/lib/gconv', kind: 'listing', sha256: 'names' }, { path: '/usr/lib/gconv', kind: 'dir' }, { path: '/opt/x', kind: 'absent' }]);
  expect(lock).toEqual({ schema: 'sidebundle/lock@1', files: { '/opt/x': 'absent', '/usr/lib/gconv': 'dir' }, listings: { '/usr/lib/gconv': 'names' } });
  const lockFile = path.join(dir, 'sidebundle.lock');
  writeLock(lockFile, lock);
  expect(readLock(lockFile)).toEqual(lock);
  writeFileSync(lockFile, JSON.stringify({ ...lock, listings: ['/usr/lib/gconv'] }));
  expect(() => readLock(lockFile)).toThrow(/is not a sidebundle\/lock@1 file/);
});

describe('what collection looked at, through the lock to the traced fingerprint', () => {
  // A root with a Python standard library (a file of the closure named python3.11 is what makes
  // collection take it), outside a workspace of its own.
  const base = tempDir('sb-lock-collect-');
  const root = path.join(base, 'root');
  const ws = path.join(base, 'ws');
  const stdlib = path.join(root, 'usr/lib/python3.11');
  const config = path.join(ws, 'apps/a/sidebundle.json');
  const python: ClosureFile = { path: '/usr/bin/python3.11', size: 1, mode: 0o755, sha256: 'x', kind: 'elf', reasons: [] };

  async function traceAndLock(): Promise<{ lock: ReturnType<typeof lockOf>; collected: string[] }> {
    const result = await collect([{ ...closure([python]), root }]);
    const read = collectionInputs([{ collectedFrom: result.read }], ws);
    const cache = new StepCache(path.join(base, 'cache'));
    const lock = lockOf(await cache.describe(read.paths, read.listings));
    writeLock(lockFileOf(config), lock);
    return { lock, collected: result.closure.files.map((f) => f.path) };
  }

  beforeAll(() => {
    mkdirSync(path.join(stdlib, 'json'), { recursive: true });
    mkdirSync(path.dirname(config), { recursive: true });
    writeFileSync(path.join(stdlib, 'os.py'), 'import sys\n');
    writeFileSync(path.join(stdlib, 'json/__init__.py'), '');
    writeFileSync(config, JSON.stringify({ name: 'a', entries: ['/usr/bin/true'], cacheDir: path.join(base, 'cache') }));
  });

  test('the directories listed and the paths probed (absent ones as absent) are in the lock', async () => {
    const { lock, collected } = await traceAndLock();
    expect(collected).toEqual(['/usr/lib/python3.11/json/__init__.py', '/usr/lib/python3.11/os.py']);
    expect(Object.keys(lock.listings ?? {})).toEqual(expect.arrayContaining([stdlib, path.join(stdlib, 'json')]));
    expect(lock.files[path.join(stdlib, 'os.py')]).toMatch(/^[0-9a-f]{64}$/);
    // Looked for beside /usr/lib: a standard library under /usr/lib64 would be collected too.
    expect(lock.files[path.join(root, 'usr/lib64')]).toBe('absent');
  });

  test('a file added to a collected directory changes the traced fingerprint, and the next collection has it', async () => {
    await traceAndLock();
    const before = await tracedFingerprint(config, ws);
    expect(before.join('\n')).toContain(`listing ${path.join(stdlib, 'json')} `);
    expect(await tracedFingerprint(config, ws)).toEqual(before);
    writeFileSync(path.join(stdlib, 'json/decoder.py'), '');
    expect(await tracedFingerprint(config, ws)).not.toEqual(before);
    expect((await traceAndLock()).collected).toContain('/usr/lib/python3.11/json/decoder.py');
  });

  test('a probed path appearing changes the traced fingerprint', async () => {
    await traceAndLock();
    const before = await tracedFingerprint(config, ws);
    mkdirSync(path.join(root, 'usr/lib64'));
    expect(await tracedFingerprint(config, ws)).not.toEqual(before);
  });
});
