// Hostile layers: each refused with a clear error (or, for device nodes, not materialised),
// and nothing is ever written outside the unpack directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';

import { SidebundleError } from '../../lib/errors';
import { decompressed } from '../../lib/image/blob';
import { applyLayer } from '../../lib/image/unpack';
import { ImageStore, materializeImage } from '../../lib/image';
import { tempDir } from '../helpers/tmp';
import { guardedStore, layerBytes, ociLayout } from './crafted';

type Entry = { name: string; type?: tar.Header['type']; linkname?: string; content?: string; size?: number };

/** A layer tarball written by tar-stream, in memory. */
async function layer(entries: Entry[]): Promise<Readable> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const written = new Promise<void>((resolve) => {
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolve());
  });
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), mode: 0o644 }, e.content ?? '');
  pack.finalize();
  await written;
  return Readable.from([Buffer.concat(chunks)]);
}

const base = tempDir('sb-evil-');
let n = 0;
function sandbox() {
  const dir = path.join(base, `case-${n++}`);
  const target = path.join(dir, 'rootfs');
  const canary = path.join(dir, 'canary');
  mkdirSync(target, { recursive: true });
  mkdirSync(canary);
  writeFileSync(path.join(dir, 'beside'), 'must survive');
  return {
    target,
    canary,
    untouched: () => existsSync(target) && existsSync(path.join(dir, 'beside')) && readdirSync(canary).length === 0 && !existsSync(path.join(dir, 'escaped')),
  };
}

async function refused(entries: Entry[], code: string, message: RegExp, limits = {}) {
  const { target, untouched } = sandbox();
  const error = await applyLayer(await layer(entries), target, { label: 'evil layer', limits }).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SidebundleError);
  expect((error as SidebundleError).code).toBe(code);
  expect((error as SidebundleError).message).toMatch(message);
  expect(untouched()).toBe(true);
}

test('path traversal with ..', () => refused([{ name: '../escaped', content: 'x' }], 'IMAGE_LAYER_UNSAFE', /contains "\.\."/));

test('an absolute path', () => refused([{ name: '/etc/evil', content: 'x' }], 'IMAGE_LAYER_UNSAFE', /absolute path/));

test('a symlink out of the rootfs, then a write through it', async () => {
  const { canary } = sandbox();
  await refused([{ name: 'link', type: 'symlink', linkname: canary }, { name: 'link/owned', content: 'x' }], 'IMAGE_LAYER_UNSAFE', /written through the symlink link/);
  await refused([{ name: 'up', type: 'symlink', linkname: '../..' }, { name: 'up/escaped', content: 'x' }], 'IMAGE_LAYER_UNSAFE', /leaves the image/);
});

test('a hard link to a file outside the rootfs', () => refused([{ name: 'hl', type: 'link', linkname: '../../../../etc/passwd' }], 'IMAGE_LAYER_UNSAFE', /contains "\.\."/));

test('a hard link to a file the layer has not created', async () => {
  await refused([{ name: 'hl', type: 'link', linkname: 'etc/shadow' }], 'IMAGE_LAYER_UNSAFE', /etc does not exist/);
  await refused([{ name: 'etc/', type: 'directory' }, { name: 'hl', type: 'link', linkname: 'etc/shadow' }], 'IMAGE_LAYER_UNSAFE', /has not created/);
});

test('device nodes are not materialised, and say so', async () => {
  const { target, untouched } = sandbox();
  const stats = await applyLayer(await layer([{ name: 'dev/sda', type: 'block-device' }, { name: 'dev/null', type: 'character-device' }, { name: 'ok', content: 'fine' }]), target, { label: 'layer' });
  expect(stats.skipped).toEqual([expect.stringMatching(/^dev\/sda \(block-device/), expect.stringMatching(/^dev\/null \(character-device/)]);
  expect(existsSync(path.join(target, 'dev/sda'))).toBe(false);
  expect(existsSync(path.join(target, 'ok'))).toBe(true);
  expect(untouched()).toBe(true);
});

test('a file over the size cap', () => refused([{ name: 'big', content: 'x'.repeat(5000) }], 'IMAGE_LAYER_TOO_LARGE', /big is 5000 bytes, over the file limit \(1000 bytes\)/, { maxFileBytes: 1000 }));

test('a layer bomb: too many entries, too many bytes', async () => {
  await refused(Array.from({ length: 200 }, (_, i) => ({ name: `f${i}`, content: 'x' })), 'IMAGE_LAYER_TOO_LARGE', /more than 100 entries, over the entries limit/, { maxEntries: 100 });
  await refused(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, content: 'x'.repeat(100) })), 'IMAGE_LAYER_TOO_LARGE', /over the layer limit \(1000\)/, { maxLayerBytes: 1000 });
});

test('digests with unsafe characters never become paths', async () => {
  const layout = path.join(base, 'bad-layout');
  mkdirSync(layout, { recursive: true });
  require('node:fs').writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  require('node:fs').writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../../../etc/passwd', size: 10 }] }));
  await expect(materializeImage(`oci:${layout}`, { store: new ImageStore(path.join(base, 'store')) })).rejects.toMatchObject({ code: 'IMAGE_BAD_DIGEST' });
});

test('a whiteout of "..", ".", or nothing is refused, naming the layer and the entry', async () => {
  for (const name of ['.wh...', 'usr/.wh...', '.wh..', 'usr/.wh.']) {
    await refused([{ name: 'usr/', type: 'directory' }, { name: 'usr/keep', content: 'x' }, { name }], 'IMAGE_LAYER_UNSAFE', new RegExp(`^evil layer: refused the entry "${name.replace(/\./g, '\\.')}": it is a whiteout of`));
  }
});

test('a whiteout of a name in its directory still removes it', async () => {
  const { target, untouched } = sandbox();
  await applyLayer(await layer([{ name: 'usr/bin/gone', content: 'x' }, { name: 'usr/bin/kept', content: 'x' }, { name: 'usr/bin/.wh.gone' }]), target, { label: 'layer' });
  expect(readdirSync(path.join(target, 'usr/bin'))).toEqual(['kept']);
  expect(untouched()).toBe(true);
});

describe('an image whose layer holds a whiteout of ".."', () => {
  for (const [where, name] of [['the root', '.wh...'], ['a directory', 'usr/.wh...']] as const) {
    test(`in ${where}: refused before anything of the cache is removed, and nothing is kept`, async () => {
      const dir = tempDir('sb-wh-');
      const { store, intact, snapshots } = guardedStore(dir);
      const { ref, layerDigests } = ociLayout(path.join(dir, 'layout'), [await layerBytes([{ name: 'usr/', type: 'directory' }, { name: 'usr/bin/tool', content: 'x' }, { name }], { gzip: true })]);
      const error = await materializeImage(ref, { store }).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'IMAGE_LAYER_UNSAFE' });
      expect((error as Error).message).toContain(layerDigests[0]);
      expect((error as Error).message).toContain(JSON.stringify(name));
      expect(intact()).toBe(true);
      expect(snapshots()).toEqual([]);
    });
  }
});

test('a corrupt layer is refused by digest before any of its entries is applied', async () => {
  const dir = tempDir('sb-corrupt-');
  const { store, intact, snapshots } = guardedStore(dir);
  // Applied while streaming, the unsafe entry would be met (and reported) before the digest.
  const evil = await layerBytes([{ name: '../escaped', content: 'x' }, { name: '.wh...' }, { name: 'padding', content: 'p'.repeat(4096) }]);
  const { ref } = ociLayout(path.join(dir, 'layout'), [evil], { corrupt: [0] });
  await expect(materializeImage(ref, { store })).rejects.toMatchObject({ code: 'IMAGE_DIGEST_MISMATCH' });
  expect(existsSync(path.join(dir, 'escaped'))).toBe(false);
  expect(intact()).toBe(true);
  expect(snapshots()).toEqual([]);
});

describe('a FIFO or device where a file is read is refused at once, not waited on', () => {
  const mkfifo = (at: string) => {
    rmSync(at, { force: true });
    execFileSync('mkfifo', [at]);
  };
  const expectRefused = async (ref: string, store: ImageStore, file: string, kind: RegExp) => {
    const error = await materializeImage(ref, { store }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'IMAGE_NOT_REGULAR_FILE', kind: 'input', input: file, hint: expect.stringMatching(/plain files/) });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(kind);
  };
  const layout = async (dir: string) => ociLayout(path.join(dir, 'layout'), [await layerBytes([{ name: 'usr/bin/tool', content: 'x' }])]);

  test('a layer blob', async () => {
    const dir = tempDir('sb-fifo-');
    const { store, intact, snapshots } = guardedStore(dir);
    const { ref, layerDigests } = await layout(dir);
    const blob = path.join(dir, 'layout', 'blobs', layerDigests[0]!.replace(':', '/'));
    mkfifo(blob);
    await expectRefused(ref, store, blob, /is a FIFO, not a regular file/);
    expect(intact()).toBe(true);
    expect(snapshots()).toEqual([]);
  }, 10_000);

  test('index.json and the manifest blob', async () => {
    const dir = tempDir('sb-fifo-');
    const { store, intact, snapshots } = guardedStore(dir);
    const { ref } = await layout(dir);
    const index = path.join(dir, 'layout', 'index.json');
    const manifestDigest = JSON.parse(readFileSync(index, 'utf8')).manifests[0].digest as string;
    const manifest = path.join(dir, 'layout', 'blobs', manifestDigest.replace(':', '/'));
    mkfifo(manifest);
    await expectRefused(ref, store, manifest, /is a FIFO/);
    mkfifo(index);
    await expectRefused(ref, store, index, /is a FIFO/);
    expect(intact()).toBe(true);
    expect(snapshots()).toEqual([]);
  }, 10_000);

  test('an oci-archive or docker-archive file', async () => {
    const dir = tempDir('sb-fifo-');
    const { store, intact } = guardedStore(dir);
    const fifo = path.join(dir, 'image.tar');
    mkfifo(fifo);
    await expectRefused(`oci-archive:${fifo}`, store, fifo, /is a FIFO/);
    await expectRefused(`docker-archive:${fifo}`, store, fifo, /is a FIFO/);
    await expectRefused('docker-archive:/dev/zero', store, '/dev/zero', /is a character device/);
    expect(intact()).toBe(true);
  }, 10_000);
});

describe('decompression bombs are refused while they stream', () => {
  const MiB = 1024 * 1024;
  const BOMB = 256 * MiB; // of zeros: about 250 KiB gzipped

  test('a file of zeros far beyond the ratio limit: refused from its header, nothing kept', async () => {
    const dir = tempDir('sb-bomb-');
    const { store, intact, snapshots } = guardedStore(dir);
    const bomb = await layerBytes([{ name: 'usr/bin/tool', content: 'x' }, { name: 'zeros', zeros: BOMB }], { gzip: true });
    expect(bomb.length).toBeLessThan(BOMB / 500); // the precondition: it is a bomb
    const { ref, layerDigests } = ociLayout(path.join(dir, 'layout'), [bomb]);
    const error = await materializeImage(ref, { store, limits: { ratioFloorBytes: 16 * MiB } }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'IMAGE_LAYER_TOO_LARGE', details: { limit: 'ratio', value: 50 } });
    expect((error as Error).message).toContain(layerDigests[0]);
    expect((error as Error).message).toMatch(/zeros is 268435456 bytes, more than the layer may still unpack to under the ratio limit \(50\) for its \d+ compressed bytes/);
    expect((error as SidebundleError).hint).toMatch(/raise the ratio limit \(now 50\) with SIDEBUNDLE_IMAGE_LIMITS=ratio=VALUE/);
    expect(intact()).toBe(true);
    expect(snapshots()).toEqual([]);
  });

  test('bytes past the end of the archive count too: the stream stops at the limit', async () => {
    const { target, untouched } = sandbox();
    const zlib = require('node:zlib') as typeof import('node:zlib');
    const tarball = await layerBytes([{ name: 'ok', content: 'fine' }]);
    // gzip members concatenated are one stream: 16 copies of 16 MiB of zeros after the archive.
    const zeros = zlib.gzipSync(Buffer.alloc(16 * MiB), { level: 9 });
    const bomb = Buffer.concat([zlib.gzipSync(tarball), ...Array.from({ length: BOMB / (16 * MiB) }, () => zeros)]);
    let passed = 0;
    const counted = (await decompressed(Readable.from([bomb]), 'bomb')).on('data', (c: Buffer) => (passed += c.length));
    const error = await applyLayer(counted, target, { label: 'bomb layer', limits: { maxLayerBytes: 8 * MiB } }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'IMAGE_LAYER_TOO_LARGE', details: { limit: 'layer' } });
    expect((error as Error).message).toMatch(/^bomb layer unpacks to more than 8388608 bytes, over the layer limit \(8M\)/);
    expect(passed).toBeLessThan(16 * MiB);
    expect(untouched()).toBe(true);
  });

  test('the image limit spans layers: the base is kept, the image is not', async () => {
    const dir = tempDir('sb-bomb-');
    const { store, intact, snapshots } = guardedStore(dir);
    const four = async (name: string) => layerBytes([{ name, zeros: 4 * MiB }], { gzip: true });
    const { ref, layerDigests } = ociLayout(path.join(dir, 'layout'), [await four('a'), await four('b')]);
    const limits = { maxImageBytes: 6 * MiB, maxRatio: 100_000 };
    const error = await materializeImage(ref, { store, limits }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', details: { limit: 'image' } });
    expect((error as Error).message).toMatch(/layer 2 .*more than the layer may still unpack to under the image limit \(6M\), \d+ bytes of which the layers below took/);
    const [base, top] = ImageStore.chain(layerDigests);
    expect(snapshots()).toEqual([base]);
    expect(snapshots()).not.toContain(top);
    expect(intact()).toBe(true);
    // Raised, the same image unpacks.
    const image = await materializeImage(ref, { store, limits: { ...limits, maxImageBytes: 16 * MiB } });
    expect(path.basename(image.rootfs)).toBe(top);
  });
});
