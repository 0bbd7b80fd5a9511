// The content-digest step cache: hits only while every input is unchanged (files by content,
// symlinks by target, absent paths absent), safe under concurrent writers and damaged entries,
// prunable; and the steps built on it reuse work and content.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { DigestMemo } from '../../lib/cache/file-digest';
import { canonicalJson, StepCache } from '../../lib/cache/step-cache';
import type { Manifest } from '../../lib/package/manifest';
import { packBundle } from '../../lib/package/pack';
import { merge } from '../../lib/steps/merge';
import { pack } from '../../lib/steps/package';
import { resolve } from '../../lib/steps/resolve';
import type { StepEvent } from '../../lib/steps/context';
import { repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-cache-');

test('canonical JSON ignores key order and undefined fields', () => {
  expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(canonicalJson({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 }));
});

test('a hit needs every input unchanged: content, link target, absence', async () => {
  const cache = new StepCache(path.join(dir, 'c1'));
  const files = path.join(dir, 'inputs');
  mkdirSync(files, { recursive: true });
  writeFileSync(path.join(files, 'lib.so'), 'v1');
  symlinkSync('lib.so', path.join(files, 'lib.so.1'));
  const absent = path.join(files, 'later.so');
  const key = cache.key('resolve', '1', { entries: ['x'] });
  cache.store(key, await cache.describe([path.join(files, 'lib.so'), path.join(files, 'lib.so.1'), absent]), { answer: 1 });
  expect(await cache.lookup(key)).toEqual({ answer: 1 });
  expect(await cache.lookup(cache.key('resolve', '1', { entries: ['y'] }))).toBeUndefined();
  expect(await cache.lookup(cache.key('resolve', '2', { entries: ['x'] }))).toBeUndefined();

  writeFileSync(absent, 'appeared'); // a library appearing earlier on a search path changes the answer
  expect(await cache.lookup(key)).toBeUndefined();
  unlinkSync(absent);
  expect(await cache.lookup(key)).toEqual({ answer: 1 });

  writeFileSync(path.join(files, 'lib.so'), 'v2');
  expect(await cache.lookup(key)).toBeUndefined();
  writeFileSync(path.join(files, 'lib.so'), 'v1'); // same content again: a hit again (content, not mtime)
  expect(await cache.lookup(key)).toEqual({ answer: 1 });

  unlinkSync(path.join(files, 'lib.so.1'));
  symlinkSync('lib.so.other', path.join(files, 'lib.so.1'));
  expect(await cache.lookup(key)).toBeUndefined();
});

test('file digests are memoized by (dev, inode, size, mtime, ctime): an unchanged file is not read again', async () => {
  const file = path.join(dir, 'memo-subject');
  writeFileSync(file, 'abc');
  const memo = new DigestMemo();
  const first = await memo.digest(file);
  expect(first.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const state = () => [...memo.entries.values()].map((e) => e.key);
  const before = state();
  expect(before).toHaveLength(1);
  await memo.digest(file);
  expect(state()).toEqual(before);
  utimesSync(file, new Date(1000), new Date(1000));
  await memo.digest(file); // a new state, hashed again; the inode keeps only its latest
  expect(state()).toHaveLength(1);
  expect(state()).not.toEqual(before);
});

test('a damaged stored output is never served', async () => {
  const cache = new StepCache(path.join(dir, 'c2'));
  const key = cache.key('merge', '1', { a: 1 });
  cache.store(key, [], { big: 'x'.repeat(1000) });
  const outputs = path.join(cache.dir, 'outputs');
  const [name] = readdirSync(outputs);
  writeFileSync(path.join(outputs, name!), '{"big":"truncated');
  expect(await cache.lookup(key)).toBeUndefined();
});

test('two processes writing the same cache at once leave it consistent', async () => {
  const cacheDir = path.join(dir, 'c3');
  const script = `
const { StepCache } = require(${JSON.stringify(path.join(repoRoot, 'dist/lib/cache/step-cache.js'))});
(async () => {
  const cache = new StepCache(${JSON.stringify(cacheDir)});
  for (let i = 0; i < 200; i++) {
    const key = cache.key('merge', '1', { i: i % 20 });
    cache.store(key, [], { i: i % 20, writer: process.argv[1] });
    const hit = await cache.lookup(key);
    if (!hit || hit.i !== i % 20) { console.error('bad read', i, hit); process.exit(1); }
  }
})();`;
  const run = (writer: string) => new Promise<number | null>((res) => spawn(process.execPath, ['-e', script, writer], { stdio: 'inherit' }).on('exit', res));
  expect(await Promise.all([run('a'), run('b')])).toEqual([0, 0]);
  const cache = new StepCache(cacheDir);
  for (let i = 0; i < 20; i++) expect(await cache.lookup(cache.key('merge', '1', { i }))).toMatchObject({ i });
  expect(readdirSync(path.join(cacheDir, 'tmp'))).toEqual([]);
});

test('prune keeps the cache under a size, oldest first', async () => {
  const cache = new StepCache(path.join(dir, 'c4'));
  for (let i = 0; i < 10; i++) cache.store(cache.key('merge', '1', { i }), [], { i, pad: 'y'.repeat(10_000) });
  const { bytes } = cache.prune(40_000);
  expect(bytes).toBeLessThanOrEqual(40_000);
  expect(readdirSync(path.join(cache.dir, 'outputs')).length).toBeLessThan(10);
});

test('steps reuse results and content: a rebundle under another name copies nothing', async () => {
  const cache = new StepCache(path.join(dir, 'c5'));
  const events: StepEvent[] = [];
  const context = { cache, onEvent: (e: StepEvent) => events.push(e) };
  const entries = [{ source: 'host' as const, path: '/usr/bin/jq' }];
  const closure = await resolve({ entries }, context);
  expect(events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.status)).toEqual(['run']);
  events.length = 0;
  expect(await resolve({ entries }, context)).toEqual(closure);
  expect(events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.status)).toEqual(['hit']);

  const out = path.join(dir, 'bundles');
  const first = await pack(await merge({ name: 'one', closures: [closure] }, context), { outDir: out }, context);
  const second = await pack(await merge({ name: 'two', closures: [closure] }, context), { outDir: out }, context);
  const files = readdirSync(path.join(second.dir, 'payload'), { recursive: true, encoding: 'utf8' })
    .filter((rel) => lstatSync(path.join(second.dir, 'payload', rel)).isFile());
  expect(files.length).toBeGreaterThan(3);
  for (const rel of files) {
    const a = statSync(path.join(first.dir, 'payload', rel));
    const b = statSync(path.join(second.dir, 'payload', rel));
    expect(b.ino).toBe(a.ino); // hard links to the same content-store file: nothing copied
  }
});

test('a published bundle with a file added or a directory locked is no hit: the package step writes it again', async () => {
  const cache = new StepCache(path.join(dir, 'c-shape'));
  const events: StepEvent[] = [];
  const context = { cache, onEvent: (e: StepEvent) => events.push(e) };
  const closure = await resolve({ entries: [{ source: 'host' as const, path: '/usr/bin/jq' }] }, context);
  const plan = await merge({ name: 'shape', closures: [closure] }, context);
  const out = path.join(dir, 'shape');
  const packStatus = () => events.filter((e) => e.type === 'step' && e.step === 'package').map((e) => e.type === 'step' && e.status);
  const first = await pack(plan, { outDir: out }, context);
  await pack(plan, { outDir: out }, context);
  expect(packStatus()).toEqual(['run', 'hit']);
  for (const tamper of [() => writeFileSync(path.join(first.dir, 'payload/evil.sh'), 'echo evil\n'), () => chmodSync(path.join(first.dir, 'payload/usr'), 0o700)]) {
    events.length = 0;
    tamper();
    const again = await pack(plan, { outDir: out }, context);
    expect(packStatus()).toEqual(['run']);
    expect(again.manifestSha256).toBe(first.manifestSha256);
    expect(existsSync(path.join(first.dir, 'payload/evil.sh'))).toBe(false);
    expect(statSync(path.join(first.dir, 'payload/usr')).mode & 0o7777).toBe(0o755);
  }
});

test('a content-store copy edited through a bundle is not linked into the next bundle', async () => {
  const cache = new StepCache(path.join(dir, 'c6'));
  const context = { cache };
  const closure = await resolve({ entries: [{ source: 'host' as const, path: '/usr/bin/jq' }] }, context);
  const out = path.join(dir, 'edited');
  const first = await pack(await merge({ name: 'one', closures: [closure] }, context), { outDir: out }, context);
  // Someone edits a bundled file in place: the link shares its inode with the content store.
  const jq = path.join(first.dir, 'payload/usr/bin/jq');
  const sha = createHash('sha256').update(readFileSync('/usr/bin/jq')).digest('hex');
  writeFileSync(jq, 'not jq any more');
  const second = await pack(await merge({ name: 'two', closures: [closure] }, context), { outDir: out }, context);
  const stored = path.join(second.dir, 'payload/usr/bin/jq');
  expect(statSync(stored).ino).not.toBe(statSync(jq).ino); // copied from /usr/bin/jq again
  expect(createHash('sha256').update(readFileSync(stored)).digest('hex')).toBe(sha);
});

test('a rebundle over the previous bundle leaves the memo knowing every stored file as it ends up (nothing to hash again)', async () => {
  const cache = new StepCache(path.join(dir, 'c7'));
  const context = { cache };
  const closure = await resolve({ entries: [{ source: 'host' as const, path: '/usr/bin/jq' }] }, context);
  const plan = await merge({ name: 'same', closures: [closure] }, context);
  const out = path.join(dir, 'rebundled');
  await pack(plan, { outDir: out, runMode: 'host' }, context); // stores its content in the cache
  // The same bundle again over the first: its files are links to the store's inodes, and
  // removing the first bundle unlinks them once more, which moves their ctime.
  const again = await packBundle(plan, { outDir: out, reuse: (sha) => cache.storePath(sha), digests: cache.digests });
  const stored = (JSON.parse(readFileSync(path.join(again.dir, 'manifest.lock'), 'utf8')) as Manifest).files.filter((f) => f.sameAs === undefined);
  expect(stored.length).toBeGreaterThan(3);
  for (const f of stored) {
    const file = path.join(again.dir, f.path);
    expect(statSync(file).ino).toBe(statSync(cache.storePath(f.sha256)!).ino); // precondition: linked from the store
    expect([f.path, cache.digests.known(file)]).toEqual([f.path, { sha256: f.sha256, size: f.size }]);
  }
});
