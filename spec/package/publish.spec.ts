// Deterministic output and atomic publishing: the same inputs give the same bytes; a run that is
// killed or interrupted leaves the previous bundle as it was and nothing half-written beside it.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { openStaging, discard, publish } from '../../lib/package/publish';
import { treeDigest } from '../../lib/package/tree-digest';
import { createBundle, runCli, startCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-publish-');

test('bundling twice gives byte-identical manifests and identical trees', () => {
  const args = ['--name', 'same', '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/curl', '--from-host', '/usr/bin/git'];
  const a = createBundle([...args, '--out-dir', path.join(dir, 'a')]);
  const b = createBundle([...args, '--out-dir', path.join(dir, 'b')]);
  expect(readFileSync(path.join(b.dir, 'manifest.lock'))).toEqual(readFileSync(path.join(a.dir, 'manifest.lock')));
  expect(treeDigest(b.dir)).toBe(treeDigest(a.dir));
  const again = createBundle([...args, '--out-dir', path.join(dir, 'a')]);
  expect(again.manifestSha256).toBe(a.manifestSha256);
  expect(treeDigest(again.dir)).toBe(treeDigest(a.dir));
});

/** Start a slow bundle over an existing one; stop it with `signal` while it is packaging. */
async function interruptPackaging(out: string, signal: NodeJS.Signals) {
  const old = createBundle(['--name', 'victim', '--from-host', '/usr/bin/jq', '--out-dir', out]);
  const before = treeDigest(old.dir);
  const child = startCli(['create', '--name', 'victim', '--out-dir', out,
    '--from-host', '/usr/bin/node', '--from-host', '/usr/bin/python3.11', '--from-host', '/usr/bin/perl', '--from-host', '/usr/bin/git']);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
  let stagedSeen = false;
  for (let i = 0; i < 4000 && child.exitCode === null; i++) {
    const staged = readdirSync(out).find((n) => n.startsWith('.victim.tmp-'));
    if (staged && existsSync(path.join(out, staged, 'payload')) && readdirSync(path.join(out, staged, 'payload')).length > 0) {
      stagedSeen = true;
      child.kill(signal);
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const code = await exited;
  return { before, stagedSeen, code, old };
}

test('SIGKILL in the middle of packaging: the old bundle is intact; the next run cleans up', async () => {
  const out = path.join(dir, 'kill');
  const { before, stagedSeen, old } = await interruptPackaging(out, 'SIGKILL');
  expect(stagedSeen).toBe(true);
  expect(treeDigest(old.dir)).toBe(before);
  expect(runCli(['create', '--name', 'victim', '--from-host', '/usr/bin/jq', '--out-dir', out]).status).toBe(0);
  expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
  expect(treeDigest(old.dir)).toBe(before);
});

test.each([
  { name: 'Ctrl+C (SIGINT)', signal: 'SIGINT', status: 130 },
  { name: 'SIGTERM', signal: 'SIGTERM', status: 143 },
] as const)('$name while packaging: exit $status, old bundle intact, nothing left behind', async ({ signal, status }) => {
  // The exit status is 128 + the signal's number, as a shell reports a signal's end.
  const out = path.join(dir, signal.toLowerCase());
  const { before, stagedSeen, code, old } = await interruptPackaging(out, signal);
  expect(stagedSeen).toBe(true);
  expect(code).toBe(status);
  expect(treeDigest(old.dir)).toBe(before);
  expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
});

test('a swap cut between its two renames is repaired by the next run', () => {
  const out = path.join(dir, 'swap');
  const old = createBundle(['--name', 'cut', '--from-host', '/usr/bin/jq', '--out-dir', out]);
  const before = treeDigest(old.dir);
  const dead = spawnSync('true').pid!; // a pid that has exited
  renameSync(old.dir, path.join(out, `.cut.old-${dead}-0badc0de`));
  const staging = openStaging(out, 'cut');
  expect(treeDigest(old.dir)).toBe(before);
  discard(staging);
  expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
});

test('NAME a symbolic link to a bundle: exit 2 with OUTPUT_IS_A_LINK, the link and what it leads to untouched', () => {
  const out = path.join(dir, 'linked');
  const release = createBundle(['--name', 'v1', '--from-host', '/usr/bin/jq', '--out-dir', path.join(out, 'releases')]);
  writeFileSync(path.join(release.dir, 'notes.txt'), 'keep me');
  const before = treeDigest(release.dir);
  symlinkSync('releases/v1', path.join(out, 'current'));
  const r = runCli(['create', '--name', 'current', '--from-host', '/usr/bin/jq', '--out-dir', out]);
  expect(r.stderr).toMatch(/error\[OUTPUT_IS_A_LINK\]: \S+\/current is a symbolic link, not a bundle directory/);
  expect(r.status).toBe(2);
  expect(lstatSync(path.join(out, 'current')).isSymbolicLink()).toBe(true);
  expect(treeDigest(release.dir)).toBe(before);
  expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
});

test('a link put at NAME while a run packs is set aside and unlinked alone: what it leads to is untouched', () => {
  const out = path.join(dir, 'late-link');
  const elsewhere = path.join(dir, 'elsewhere');
  mkdirSync(path.join(elsewhere, 'sub'), { recursive: true });
  writeFileSync(path.join(elsewhere, 'sub', 'file'), 'keep me');
  const staging = openStaging(out, 'b');
  writeFileSync(path.join(staging.dir, 'manifest.lock'), '{}');
  symlinkSync(elsewhere, staging.finalDir);
  try {
    publish(staging);
    expect(readFileSync(path.join(elsewhere, 'sub', 'file'), 'utf8')).toBe('keep me');
    expect(lstatSync(staging.finalDir).isDirectory()).toBe(true);
    expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
  } finally {
    rmSync(staging.finalDir, { recursive: true, force: true });
  }
});
