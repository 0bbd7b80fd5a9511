// File modes: a bundled file keeps its source's permission bits and is never widened (a 0600 file
// stays private in the payload, manifest.lock and the cache's content store); setuid and
// setgid bits are dropped, and so are write bits (shared content is read-only, see
// shared-content.spec.ts).
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { manifestFiles, mismatches } from './manifest-check';

const dir = tempDir('sb-modes-');
const modeOf = (file: string) => statSync(file).mode & 0o7777;

/** Source files with their modes, and the mode each must have in the bundle. */
const FILES: Array<{ name: string; content: string; mode: number; bundled: number }> = [
  { name: 'owner-only.dat', content: 'owner only\n', mode: 0o600, bundled: 0o400 },
  { name: 'group.conf', content: 'group readable\n', mode: 0o640, bundled: 0o440 },
  { name: 'tool.sh', content: '#!/bin/sh\necho tool\n', mode: 0o750, bundled: 0o550 },
  { name: 'suid', content: 'pretend setuid program\n', mode: 0o6755, bundled: 0o555 },
  { name: 'plain.txt', content: 'plain\n', mode: 0o644, bundled: 0o444 },
  // The same bytes as owner-only.dat with a wider mode: each keeps its own.
  { name: 'public-copy.dat', content: 'owner only\n', mode: 0o644, bundled: 0o444 },
];

function sourceTree(name: string): string {
  const src = path.join(dir, name);
  mkdirSync(src);
  for (const f of FILES) {
    writeFileSync(path.join(src, f.name), f.content);
    chmodSync(path.join(src, f.name), f.mode);
  }
  expect(FILES.map((f) => modeOf(path.join(src, f.name)))).toEqual(FILES.map((f) => f.mode)); // precondition
  return src;
}

test('--copy-dir files keep their permission bits in the payload, manifest.lock and the cache', () => {
  const src = sourceTree('src');
  const cacheDir = path.join(dir, 'cache');
  const bundle = createBundle(['--name', 'modes', '--from-host', '/usr/bin/jq', '--copy-dir', `${src}:/opt/app`, '--out-dir', path.join(dir, 'out'), '--cache-dir', cacheDir, '--run-mode', 'host']);
  const manifest = new Map(manifestFiles(bundle.dir).map((f) => [f.path, f]));
  for (const f of FILES) {
    const rel = `payload/opt/app/${f.name}`;
    const entry = manifest.get(rel)!;
    expect([f.name, modeOf(path.join(bundle.dir, rel))]).toEqual([f.name, f.bundled]);
    expect([f.name, entry.mode]).toEqual([f.name, f.bundled.toString(8).padStart(4, '0')]);
    if (f.name !== 'public-copy.dat') {
      expect([f.name, modeOf(path.join(cacheDir, 'cas', entry.sha256))]).toEqual([f.name, f.bundled]);
    }
  }
  expect(mismatches(bundle.dir)).toEqual([]);
});

test('content the cache holds with a wider mode is not linked into a bundle that wants it narrower', () => {
  const cacheDir = path.join(dir, 'cache2');
  const wide = path.join(dir, 'wide');
  const narrow = path.join(dir, 'narrow');
  mkdirSync(wide);
  mkdirSync(narrow);
  writeFileSync(path.join(wide, 'secret'), 'the same bytes\n', { mode: 0o644 });
  writeFileSync(path.join(narrow, 'secret'), 'the same bytes\n');
  chmodSync(path.join(narrow, 'secret'), 0o600);
  const out = path.join(dir, 'out2');
  const args = ['--from-host', '/usr/bin/jq', '--out-dir', out, '--cache-dir', cacheDir, '--run-mode', 'host'];
  const first = createBundle(['--name', 'wide', '--copy-dir', `${wide}:/opt/s`, ...args]);
  const second = createBundle(['--name', 'narrow', '--copy-dir', `${narrow}:/opt/s`, ...args]);
  const a = path.join(first.dir, 'payload/opt/s/secret');
  const b = path.join(second.dir, 'payload/opt/s/secret');
  expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
  expect(modeOf(b)).toBe(0o400);
  expect(statSync(b).ino).not.toBe(statSync(a).ino);
  expect(mismatches(second.dir)).toEqual([]);
});

test('a setuid entry is bundled without the bit, and create says so: it will run with the caller\'s rights', () => {
  const r = runCli(['create', '--name', 'su', '--from-host', '/usr/bin/passwd', '--out-dir', path.join(dir, 'suid-out')]);
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('warning: entry /usr/bin/passwd is setuid here; a bundle carries no privileges');
  expect(modeOf(path.join(dir, 'suid-out/su/payload/usr/bin/passwd')) & 0o6000).toBe(0);
});
