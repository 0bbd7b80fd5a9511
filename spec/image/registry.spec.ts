// Pulling from a real registry on loopback, through a proxy that counts and injects faults.
import * as path from 'node:path';

import { ImageStore, materializeImage } from '../../lib/image';
import { IMAGE_TAG, imageFixtures } from '../fixtures/images';
import { runInRoot } from '../fixtures/run-in-root';
import { tempDir } from '../helpers/tmp';
import { push, startProxy, startRegistry, type ProxyControls, type Registry } from './registry-fixture';

jest.setTimeout(300_000);

const dir = tempDir('sb-registry-');
let registry: Registry;
let proxy: ProxyControls;
let store: ImageStore;
const fast = { backoffMs: 10 };

beforeAll(async () => {
  registry = await startRegistry(path.join(dir, 'registry'));
  push(`oci:${imageFixtures().layout}:${IMAGE_TAG}`, registry.host, 'test/bullseye:1');
  proxy = await startProxy(registry.host);
  store = new ImageStore(path.join(dir, 'store'));
});

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
});

const blobGets = () => proxy.requests.filter((r) => /^GET .*\/blobs\//.test(r)).length;

test('pull by tag and by digest; the second pull downloads no blob', async () => {
  const byTag = await materializeImage(`registry://${proxy.host}/test/bullseye:1`, { store, registry: fast });
  expect(runInRoot(byTag.rootfs, ['/usr/bin/jq', '--version']).stdout).toBe('jq-1.6\n');
  expect(blobGets()).toBeGreaterThanOrEqual(4); // config and three layers
  const before = blobGets();
  const byDigest = await materializeImage(`registry://${proxy.host}/test/bullseye@${byTag.digest}`, { store, registry: fast });
  expect(byDigest.rootfs).toBe(byTag.rootfs);
  expect(blobGets()).toBe(before);
});

test('a blob with one byte flipped on the wire is rejected with a digest error', async () => {
  proxy.corruptNext(/\/blobs\/sha256:/);
  const fresh = new ImageStore(path.join(dir, 'store-corrupt'));
  await expect(materializeImage(`registry://${proxy.host}/test/bullseye:1`, { store: fresh, registry: fast })).rejects.toMatchObject({
    code: 'IMAGE_DIGEST_MISMATCH',
    message: expect.stringMatching(/is corrupt: its content hashes to sha256:[0-9a-f]{64}, not sha256:/),
  });
});

test('a registry that answers 500 twice, then 200, works', async () => {
  proxy.failNext(/\/manifests\//, 2, 500);
  const image = await materializeImage(`registry://${proxy.host}/test/bullseye:1`, { store, registry: fast });
  expect(image.rootfs).toBeTruthy();
  expect(proxy.requests.filter((r) => r.includes('/manifests/')).length).toBeGreaterThanOrEqual(3);
});

test('a registry that keeps failing is a clear error', async () => {
  proxy.failNext(/\/manifests\//, 10, 503);
  await expect(materializeImage(`registry://${proxy.host}/test/bullseye:1`, { store, registry: fast })).rejects.toMatchObject({ code: 'IMAGE_REGISTRY_ERROR', message: expect.stringMatching(/HTTP 503/) });
  proxy.reset();
});

test('404 names what is missing', async () => {
  await expect(materializeImage(`registry://${proxy.host}/test/nothing:1`, { store, registry: fast })).rejects.toMatchObject({
    code: 'IMAGE_NOT_FOUND',
    message: expect.stringMatching(/test\/nothing: manifest 1 not found \(HTTP 404\)/),
    hint: expect.stringMatching(/repository, tag or digest/),
  });
});

test('Bearer-token auth: the challenge is answered with a token', async () => {
  proxy.requireToken('good-token');
  try {
    const fresh = new ImageStore(path.join(dir, 'store-token'));
    const image = await materializeImage(`registry://${proxy.host}/test/bullseye:1`, { store: fresh, registry: fast });
    expect(runInRoot(image.rootfs, ['/usr/bin/jq', '--version']).stdout).toBe('jq-1.6\n');
    expect(proxy.requests.filter((r) => r.endsWith('/token')).length).toBe(1);
  } finally {
    proxy.requireToken(undefined);
  }
});

test('HTTP_PROXY is honoured', async () => {
  const before = proxy.requests.filter((r) => r.includes(' proxy ')).length;
  const image = await materializeImage(`registry://${registry.host}/test/bullseye:1`, { store, registry: { ...fast, env: { HTTP_PROXY: `http://${proxy.host}` } } });
  expect(image.rootfs).toBeTruthy();
  expect(proxy.requests.filter((r) => r.includes(' proxy ')).length).toBeGreaterThan(before);
});
