// Hostile layers: each refused with a clear error (or, for device nodes, not materialised),
// and nothing is ever written outside the unpack directory.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';

import { SidebundleError } from '../../lib/errors';
import { applyLayer } from '../../lib/image/unpack';
import { ImageStore, materializeImage } from '../../lib/image';
import { tempDir } from '../helpers/tmp';

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
  return { target, canary, untouched: () => readdirSync(canary).length === 0 && !existsSync(path.join(dir, 'escaped')) };
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

test('a file over the size cap', () => refused([{ name: 'big', content: 'x'.repeat(5000) }], 'IMAGE_LAYER_TOO_LARGE', /over the 1000-byte limit/, { maxFileBytes: 1000 }));

test('a layer bomb: too many entries, too many bytes', async () => {
  await refused(Array.from({ length: 200 }, (_, i) => ({ name: `f${i}`, content: 'x' })), 'IMAGE_LAYER_TOO_LARGE', /more than 100 entries/, { maxEntries: 100 });
  await refused(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, content: 'x'.repeat(100) })), 'IMAGE_LAYER_TOO_LARGE', /unpacks to more than 1000 bytes/, { maxTotalBytes: 1000 });
});

test('digests with unsafe characters never become paths', async () => {
  const layout = path.join(base, 'bad-layout');
  mkdirSync(layout, { recursive: true });
  require('node:fs').writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  require('node:fs').writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../../../etc/passwd', size: 10 }] }));
  await expect(materializeImage(`oci:${layout}`, { store: new ImageStore(path.join(base, 'store')) })).rejects.toMatchObject({ code: 'IMAGE_BAD_DIGEST' });
});
