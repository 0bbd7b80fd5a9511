// Engine-free sources unpack to the same verified tree: the OCI layout (gzip and zstd layers),
// an oci-archive and a docker-archive; whiteouts and opaque directories apply; a second pull
// costs nothing.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { fingerprint } from '../../lib/cli/digest';
import { ImageStore, materializeImage } from '../../lib/image';
import { IMAGE_TAG, DOCKER_NAME, imageFixtures } from '../fixtures/images';
import { runInRoot } from '../fixtures/run-in-root';
import { tempDir } from '../helpers/tmp';
import { contentDigest } from '../helpers/tree';

jest.setTimeout(300_000);

const images = imageFixtures();
const store = new ImageStore(path.join(tempDir('sb-images-'), 'cache'));

test('oci:, zstd oci:, oci-archive: and docker-archive: give the same tree', async () => {
  const oci = await materializeImage(`oci:${images.layout}:${IMAGE_TAG}`, { store });
  const digest = contentDigest(oci.rootfs);
  expect(oci.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(oci.layers).toHaveLength(3);
  for (const ref of [`oci:${images.zstdLayout}:${IMAGE_TAG}`, `oci-archive:${images.ociArchive}:${IMAGE_TAG}`, `docker-archive:${images.dockerArchive}:${DOCKER_NAME}`]) {
    const other = await materializeImage(ref, { store });
    expect(contentDigest(other.rootfs)).toBe(digest);
  }
});

test('whiteouts delete, opaque directories replace, and the programs run', async () => {
  const { rootfs } = await materializeImage(`oci:${images.layout}:${IMAGE_TAG}`, { store });
  expect(existsSync(path.join(rootfs, 'usr/share/doc/jq'))).toBe(false);
  expect(existsSync(path.join(rootfs, 'usr/share/doc/python3'))).toBe(true);
  expect(readdirSync(path.join(rootfs, 'etc/apt/apt.conf.d'))).toEqual(['sidebundle-only']);
  expect(runInRoot(rootfs, ['/usr/bin/jq', '--version']).stdout).toBe('jq-1.6\n');
  // Device nodes in the layer (umoci recorded /dev/console) are not materialised.
  expect(readdirSync(path.join(rootfs, 'dev'))).not.toContain('console');
});

test('a second pull reuses the unpacked snapshot', async () => {
  const first = await materializeImage(`oci:${images.layout}:${IMAGE_TAG}`, { store });
  const started = Date.now();
  const messages: string[] = [];
  const second = await materializeImage(`oci:${images.layout}:${IMAGE_TAG}`, { store, onProgress: (m) => messages.push(m) });
  expect(second.rootfs).toBe(first.rootfs);
  expect(messages.every((m) => /cached/.test(m))).toBe(true);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('bad references and missing images are clear input errors', async () => {
  await expect(materializeImage('oci:/nonexistent/layout:x', { store })).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', kind: 'input' });
  await expect(materializeImage(`oci:${images.layout}:no-such-tag`, { store })).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', hint: expect.stringMatching(/holds: bullseye/) });
  await expect(materializeImage('registry://host/Bad_Name:x', { store })).rejects.toMatchObject({ code: 'BAD_IMAGE_REFERENCE' });
  await expect(materializeImage('ftp://x/y', { store })).rejects.toMatchObject({ code: 'BAD_IMAGE_REFERENCE' });
});

test('digest fingerprints an image entry by its manifest digest, and an archive by its file', async () => {
  const dir = tempDir('sb-digest-');
  const configFile = path.join(dir, 'sidebundle.json');
  writeFileSync(configFile, JSON.stringify({
    name: 'img',
    entries: [{ image: `oci:${images.layout}:${IMAGE_TAG}`, path: '/usr/bin/jq' }, { image: `docker-archive:${images.dockerArchive}:${DOCKER_NAME}`, path: '/usr/bin/jq' }],
  }));
  const lines = await fingerprint(configFile, dir);
  const oci = await materializeImage(`oci:${images.layout}:${IMAGE_TAG}`, { store });
  expect(lines).toContain(`image oci:${images.layout}:${IMAGE_TAG} ${oci.digest}`);
  expect(lines.find((l) => l.startsWith(`file ${images.dockerArchive} `))).toMatch(/ [0-9a-f]{64}$/);
  expect(lines.some((l) => l.startsWith('error'))).toBe(false);
});
