// sidebundle.lock: which traced files it lists, and that it is written deterministically.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { formatLock, lockedPaths, lockFileOf, lockOf, readLock, writeLock } from '../../../lib/config/lockfile';
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
