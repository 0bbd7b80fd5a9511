// The publish lock (OUT-DIR/.NAME.lock): a lock whose owner is gone — an empty directory left by
// a crash, a dead pid, a pid reused by a later process — is taken over; a live one blocks with
// OUTPUT_LOCKED and the previous bundle stays as it was.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { treeDigest } from '../../lib/package/tree-digest';
import { createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { leftovers, mismatches } from './manifest-check';

const dir = tempDir('sb-lock-');
const jq = (out: string) => ['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out, '--run-mode', 'host'];
const deadPid = () => spawnSync('true').pid!;
const startTime = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

test.each([
  ['an empty lock directory (a crash between mkdir and writing the pid)', () => undefined],
  ['a lock of a dead process', () => `${deadPid()}`],
  ['a lock whose pid now belongs to a process started later', () => `${process.pid} ${Number(startTime(process.pid)) - 1}`],
])('%s is taken over', (_what, owner) => {
  const out = path.join(dir, _what.split(' ').slice(1, 3).join('-'));
  const old = createBundle(jq(out));
  const lock = path.join(out, '.jq.lock');
  mkdirSync(lock);
  const pid = owner();
  if (pid !== undefined) writeFileSync(path.join(lock, 'pid'), pid);
  const again = createBundle([...jq(out), '--from-host', '/usr/bin/curl']);
  expect(again.dir).toBe(old.dir);
  expect(mismatches(again.dir)).toEqual([]);
  expect(leftovers(out)).toEqual([]);
});

test('a lock held by a live process blocks: OUTPUT_LOCKED, exit 1, previous bundle intact', () => {
  const out = path.join(dir, 'live');
  const old = createBundle(jq(out));
  const before = treeDigest(old.dir);
  const lock = path.join(out, '.jq.lock');
  mkdirSync(lock);
  writeFileSync(path.join(lock, 'pid'), `${process.pid} ${startTime(process.pid)}`);
  const result = runCli(['create', ...jq(out), '--from-host', '/usr/bin/curl', '--json']);
  expect(result.status).toBe(1);
  const { error } = JSON.parse(result.stdout);
  expect([error.code, error.input]).toEqual(['OUTPUT_LOCKED', lock]);
  expect(error.message).toContain(`pid ${process.pid}`);
  expect(treeDigest(old.dir)).toBe(before);
  expect(leftovers(out)).toEqual(['.jq.lock']); // not ours to remove
  expect(existsSync(path.join(lock, 'pid'))).toBe(true);
});
