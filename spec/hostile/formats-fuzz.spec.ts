// Bounded fuzz runs of every parser that reads untrusted bytes besides the ELF reader
// (elf-fuzz.spec.ts): ld.so.cache, sidebundle.json, OCI manifests and configs, tar layers, and
// the single-file runner's trailer and stream (the Rust side, through the real binary). Every
// outcome must be a result or a SidebundleError: never another exception, a crash or a hang, and
// never a write outside the directory a layer is unpacked into. Seeds are fixed; a failure
// prints the seed and the case number so it replays.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import * as tar from 'tar-stream';

import { validateConfig } from '../../lib/config/config';
import { isSidebundleError } from '../../lib/errors';
import { resolveManifest, type Descriptor } from '../../lib/image/manifest';
import { diffManifests } from '../../lib/inspect/diff';
import { readManifest } from '../../lib/inspect/manifest-files';
import { verifyBundle } from '../../lib/inspect/verify';
import { applyLayer } from '../../lib/image/unpack';
import { parseLdCache } from '../../lib/resolve/ldcache';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { mutatedJsonText } from './mutate-json';
import { applyMutations, randomMutations, seededRandom, type Field } from './mutate';

/** SIDEBUNDLE_FUZZ_SCALE=N runs N times as many cases (a long run; seeds stay fixed, so any
 * failure names the seed and case that replay it). */
const SCALE = Math.max(1, Number(process.env.SIDEBUNDLE_FUZZ_SCALE ?? 1) || 1);
const cases = (n: number) => n * SCALE;
jest.setTimeout(120_000 * SCALE);

/** Run `body` for `count` cases; an error that is not a SidebundleError fails with its case. */
async function fuzz(name: string, seed: number, count: number, body: (random: () => number, i: number) => Promise<void> | void): Promise<Record<string, number>> {
  const random = seededRandom(seed);
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    try {
      await body(random, i);
      outcomes.ok = (outcomes.ok ?? 0) + 1;
    } catch (error) {
      if (!isSidebundleError(error)) throw new Error(`${name}: seed ${seed} case ${i}: ${(error as Error)?.stack ?? error}`);
      outcomes[error.code] = (outcomes[error.code] ?? 0) + 1;
    }
  }
  return outcomes;
}

test('ld.so.cache: the host cache mutated 3000 times', async () => {
  const cache = readFileSync('/etc/ld.so.cache');
  // Header counts and the first entries' offsets are where lengths are trusted.
  const fields: Field[] = [
    { name: 'nlibs', offset: 20, size: 4 }, { name: 'len_strings', offset: 24, size: 4 },
    ...Array.from({ length: 8 }, (_, i) => [{ name: `key${i}`, offset: 48 + i * 24 + 4, size: 4 as const }, { name: `value${i}`, offset: 48 + i * 24 + 8, size: 4 as const }]).flat(),
  ];
  const outcomes = await fuzz('ld.so.cache', 0x1d50, cases(3000), (random) => {
    parseLdCache(applyMutations(cache, randomMutations(random, cache, fields)), 'fuzzed ld.so.cache');
  });
  expect(Object.keys(outcomes).every((code) => code === 'ok' || code === 'LDCACHE_CORRUPT')).toBe(true);
  expect(outcomes.LDCACHE_CORRUPT).toBeGreaterThan(0);
});

test('sidebundle.json: 3000 hostile configurations', async () => {
  const good = {
    name: 'tools', entries: ['/usr/bin/jq', { host: '/bin/sh', name: 'sh', trace: "sh -c 'true'" }, { image: 'oci:./img:1', path: '/usr/bin/jq', name: 'jq2' }],
    traceBackend: 'auto', traceTimeout: 30, runMode: 'auto', setEnv: { LANG: 'C.UTF-8' }, copyDirs: ['./share:/opt/share'], traceInclude: ['x'],
  };
  const outcomes = await fuzz('sidebundle.json', 0xc0f1, cases(3000), (random) => {
    const text = mutatedJsonText(random, good);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.toString('utf8'));
    } catch {
      return; // readConfigFile turns a syntax error into CONFIG_INVALID (tested in spec/nx)
    }
    validateConfig(parsed as never, 'fuzzed sidebundle.json');
  });
  expect(outcomes.ok).toBeGreaterThan(0);
  expect(Object.keys(outcomes).filter((c) => c !== 'ok').length).toBeGreaterThan(2);
});

test('OCI index, manifest and config: 2000 hostile documents', async () => {
  const digest = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'a'.repeat(64)}`, size: 10 };
  const config = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin'], Entrypoint: ['/bin/sh'], WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [layer.digest] } };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(configBytes), size: configBytes.length }, layers: [layer] };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: manifest.mediaType, digest: digest(manifestBytes), size: manifestBytes.length, platform: { os: 'linux', architecture: 'amd64' } }] };
  const indexBytes = Buffer.from(JSON.stringify(index));
  const documents = [indexBytes, manifestBytes, configBytes];
  const outcomes = await fuzz('OCI documents', 0x0c1, cases(2000), async (random) => {
    // One document of the three is hostile; the reader hands out bytes as a verified blob read would.
    const hostile = Math.floor(random() * 3);
    const bytes = documents.map((d, i) => (i === hostile ? mutatedJsonText(random, JSON.parse(d.toString())) : d));
    let n = 0;
    const read = async (_d: Descriptor) => bytes[Math.min(n++, 2)]!;
    await resolveManifest({ mediaType: index.mediaType, digest: digest(bytes[0]!), size: bytes[0]!.length }, read, 'fuzzed image');
  });
  expect(outcomes.ok).toBeGreaterThan(0);
  expect(Object.keys(outcomes).every((code) => code === 'ok' || code.startsWith('IMAGE_'))).toBe(true);
});

test('tar layers: 400 mutated layers never write outside their directory', async () => {
  const pack = tar.pack();
  pack.entry({ name: 'usr/', type: 'directory', mode: 0o755 });
  pack.entry({ name: 'usr/bin/', type: 'directory', mode: 0o755 });
  pack.entry({ name: 'usr/bin/tool', mode: 0o755 }, Buffer.from('#!/bin/sh\necho hi\n'));
  pack.entry({ name: 'usr/bin/link', type: 'symlink', linkname: 'tool' });
  pack.entry({ name: 'usr/bin/hard', type: 'link', linkname: 'usr/bin/tool' });
  pack.entry({ name: 'etc/.wh.gone', mode: 0o644 }, Buffer.alloc(0));
  pack.entry({ name: 'etc/data', mode: 0o600 }, Buffer.from('x'.repeat(700)));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const layer = Buffer.concat(chunks);
  // ustar header fields of the first entries: name, mode, size, typeflag, linkname.
  const fields: Field[] = [0, 512, 1024, 1536 + 512, 2560].flatMap((h) => [
    { name: `name@${h}`, offset: h, size: 8 as const }, { name: `mode@${h}`, offset: h + 100, size: 8 as const },
    { name: `size@${h}`, offset: h + 124, size: 8 as const }, { name: `size-hi@${h}`, offset: h + 128, size: 8 as const },
    { name: `type@${h}`, offset: h + 156, size: 1 as const }, { name: `link@${h}`, offset: h + 157, size: 8 as const },
  ]);
  const sandbox = tempDir('sb-tarfuzz-');
  const canary = path.join(sandbox, 'canary');
  writeFileSync(canary, 'keep');
  chmodSync(sandbox, 0o755);
  const outcomes = await fuzz('tar layers', 0x7a5, cases(400), async (random, i) => {
    const target = path.join(sandbox, 'root');
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target);
    try {
      await applyLayer(Readable.from([applyMutations(layer, randomMutations(random, layer, fields, 3))]), target, { label: `fuzzed layer ${i}`, limits: { maxFileBytes: 1 << 20, maxLayerBytes: 8 << 20 } });
    } finally {
      expect(readdirSync(sandbox).sort()).toEqual(['canary', 'root']);
      expect(readFileSync(canary, 'utf8')).toBe('keep');
    }
  });
  expect(outcomes.ok).toBeGreaterThan(0);
  expect(Object.keys(outcomes).every((code) => code === 'ok' || code.startsWith('IMAGE_'))).toBe(true);
});

test('the single-file runner: 60 damaged .run files fail cleanly (no crash, no hang, nothing run)', () => {
  const dir = tempDir('sb-sfxfuzz-');
  createBundle(['--name', 'one', '--out-dir', path.join(dir, 'out'), '--no-cache', '--emit-single-file', '--from-host', '/bin/echo']);
  const original = readFileSync(path.join(dir, 'out', 'one.run'));
  // Only what follows the two programs (the launcher, then the runner the trailer's first word
  // points at) is fuzzed: a damaged ELF header or a program cut short fails in the kernel's loader
  // (SIGSEGV), before any code of ours runs. A static program's file ends with its section
  // header table.
  const elfEnd = (at: number) => at + Number(original.readBigUInt64LE(at + 0x28)) + original.readUInt16LE(at + 0x3a) * original.readUInt16LE(at + 0x3c);
  const runner = Number(original.readBigUInt64LE(original.length - 72));
  expect(runner).toBe(elfEnd(0));
  const programsEnd = elfEnd(runner);
  const tail = original.subarray(programsEnd);
  const magic = tail.lastIndexOf('SIDEBUNDLE-SFX-');
  expect(magic).toBe(tail.length - 64);
  // The trailer's fields (the runner's, members' and index's offsets, the digest) and the start
  // of the stream.
  const fields: Field[] = [
    { name: 'trailer-runner', offset: magic - 8, size: 8 as const },
    ...[0, 8, 16, 24, 32, 40].map((at) => ({ name: `trailer+${at}`, offset: magic + 16 + at, size: 8 as const })),
    ...[0, 4, 8, 64].map((at) => ({ name: `stream+${at}`, offset: at, size: 4 as const })),
  ];
  const random = seededRandom(0x5f);
  const counts = { ok: 0, refused: 0 };
  for (let i = 0; i < cases(60); i++) {
    const mutations = randomMutations(random, tail, fields, 2);
    const damaged = Buffer.concat([original.subarray(0, programsEnd), applyMutations(tail, mutations)]);
    const file = path.join(dir, `case-${i}.run`);
    writeFileSync(file, damaged, { mode: 0o755 });
    const cache = path.join(dir, `cache-${i}`);
    const r = spawnSync(file, ['fuzz-marker'], { encoding: 'utf8', timeout: 20_000, env: { PATH: '/usr/bin:/bin', SIDEBUNDLE_CACHE_DIR: cache } });
    const where = `case ${i} (${JSON.stringify(mutations)})`;
    expect({ where, signal: r.signal, error: r.error?.message }).toEqual({ where, signal: null, error: undefined });
    expect({ where, panicked: /panicked/.test(r.stderr) }).toEqual({ where, panicked: false });
    if (r.status === 0) {
      counts.ok++;
      expect(r.stdout).toBe('fuzz-marker\n'); // a harmless mutation (ELF padding, an unused byte)
    } else {
      counts.refused++;
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().length).toBeGreaterThan(0);
    }
    rmSync(file);
    rmSync(cache, { recursive: true, force: true });
  }
  expect(counts.refused).toBeGreaterThan(0);
});

describe('manifest.lock and the runner entry JSON', () => {
  const dir = tempDir('sb-manifestfuzz-');
  let bundleDir = '';
  beforeAll(() => {
    bundleDir = createBundle(['--name', 'm', '--out-dir', path.join(dir, 'out'), '--no-cache', '--from-host', '/bin/echo']).dir;
  });

  test('verify and diff read 600 hostile manifest.lock files', async () => {
    const manifestFile = path.join(bundleDir, 'manifest.lock');
    const original = readFileSync(manifestFile);
    const good = JSON.parse(original.toString());
    try {
      const outcomes = await fuzz('manifest.lock', 0x4a11, cases(600), async (random) => {
        chmodSync(manifestFile, 0o644);
        writeFileSync(manifestFile, mutatedJsonText(random, good));
        const report = await verifyBundle(bundleDir);
        expect(typeof report.ok).toBe('boolean');
        diffManifests(good, readManifest(bundleDir).manifest);
      });
      expect(outcomes.ok).toBeGreaterThan(0);
      expect(Object.keys(outcomes).every((code) => code === 'ok' || code.startsWith('INSPECT_'))).toBe(true);
    } finally {
      writeFileSync(manifestFile, original);
    }
  });

  test('the runner reads 80 hostile runtime/entries/NAME.json files without a crash, hang or panic', () => {
    const spec = path.join(bundleDir, 'runtime', 'entries', 'echo.json');
    const original = readFileSync(spec);
    const good = JSON.parse(original.toString());
    const random = seededRandom(0x3e);
    let refused = 0;
    try {
      for (let i = 0; i < cases(80); i++) {
        chmodSync(spec, 0o644);
        const text = mutatedJsonText(random, good);
        writeFileSync(spec, text);
        const r = spawnSync(path.join(bundleDir, 'bin', 'echo'), ['fuzz-marker'], { encoding: 'utf8', timeout: 20_000, env: { PATH: '/usr/bin:/bin', SIDEBUNDLE_RUN_MODE: i % 2 ? 'host' : 'ns' } });
        const where = `case ${i}: ${text.toString().slice(0, 300)}`;
        expect({ where, signal: r.signal, error: r.error?.message, panicked: /panicked/.test(r.stderr ?? '') }).toEqual({ where, signal: null, error: undefined, panicked: false });
        if (r.status !== 0) {
          refused++;
          expect(r.stderr.trim().length).toBeGreaterThan(0);
        }
      }
    } finally {
      writeFileSync(spec, original);
    }
    expect(refused).toBeGreaterThan(0);
  });
});
