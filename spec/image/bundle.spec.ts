// Programs bundled out of an image run on the host and in the bare rootfs exactly as they run
// inside the image; host and image entries (two glibc versions) live in one bundle.
import * as path from 'node:path';

import { IMAGE_TAG, DOCKER_NAME, imageFixtures } from '../fixtures/images';
import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { ImageStore, materializeImage } from '../../lib/image';

jest.setTimeout(300_000);

const images = imageFixtures();
const dir = tempDir('sb-imgbundle-');
const out = path.join(dir, 'out');
const JQ_ARGS = ['-c', '{a: [.x, .y] | add, keys: keys}'];
const INPUT = '{"x": 40, "y": 2}';
const PY = 'import json, sqlite3; db = sqlite3.connect(":memory:"); print(json.dumps({"v": db.execute("select 6*7").fetchone()[0]}))';

let imageRootfs: string;
beforeAll(async () => {
  imageRootfs = (await materializeImage(`oci:${images.layout}:${IMAGE_TAG}`, { store: new ImageStore(path.join(dir, 'cache')) })).rootfs;
});

test.each([
  ['oci', `oci:${images.layout}:${IMAGE_TAG}`],
  ['oci-archive', `oci-archive:${images.ociArchive}:${IMAGE_TAG}`],
  ['docker-archive', `docker-archive:${images.dockerArchive}:${DOCKER_NAME}`],
])('jq from %s runs like it runs in the image', (name, ref) => {
  const inImage = runInRoot(imageRootfs, ['/usr/bin/jq', ...JQ_ARGS], { input: INPUT });
  expect(inImage.status).toBe(0);
  const bundle = createBundle(['--name', `jq-${name}`, '--out-dir', out, '--from-image', `${ref}::/usr/bin/jq`]).dir;
  expect(runOnHost([path.join(bundle, 'bin/jq'), ...JQ_ARGS], { input: INPUT }).stdout).toBe(inImage.stdout);
  expect(runInRoot(bareRootfs(), ['/tmp/b/bin/jq', ...JQ_ARGS], { binds: { [bundle]: '/tmp/b' }, input: INPUT }).stdout).toBe(inImage.stdout);
});

test('python3 from the image, traced inside it, runs on the host and in the bare rootfs', () => {
  const inImage = runInRoot(imageRootfs, ['/usr/bin/python3', '-c', PY]);
  expect(inImage.stdout).toBe('{"v": 42}\n');
  const bundle = createBundle(['--name', 'py-image', '--out-dir', out, '--from-image', `oci:${images.layout}:${IMAGE_TAG}::/usr/bin/python3::trace=/usr/bin/python3 -c 'import json, sqlite3'`]).dir;
  expect(runOnHost([path.join(bundle, 'bin/python3'), '-c', PY]).stdout).toBe(inImage.stdout);
  expect(runInRoot(bareRootfs(), ['/tmp/b/bin/python3', '-c', PY], { binds: { [bundle]: '/tmp/b' } }).stdout).toBe(inImage.stdout);
});

test('a mixed bundle: host jq (glibc 2.36) and image python3 (glibc 2.31) both run in the bare rootfs', () => {
  const bundle = createBundle(['--name', 'mixed', '--out-dir', out, '--from-host', '/usr/bin/jq',
    '--from-image', `oci:${images.layout}:${IMAGE_TAG}::/usr/bin/jq::name=jq-image`,
    '--from-image', `oci:${images.layout}:${IMAGE_TAG}::/usr/bin/python3::trace=/usr/bin/python3 -c 'import json, sqlite3'`]);
  const manifest = JSON.parse(require('node:fs').readFileSync(path.join(bundle.dir, 'manifest.lock'), 'utf8'));
  expect(manifest.roots.map((r: { payload: string }) => r.payload)).toEqual(['payload', 'payload-2']);
  expect(manifest.roots[1].source).toMatch(/^oci:.*bullseye \(sha256:/);
  // Same paths, different content (the two jq builds): kept apart and explained.
  expect(manifest.conflicts.some((c: { path: string; resolution: string }) => c.path === '/usr/bin/jq' && /kept apart/.test(c.resolution))).toBe(true);
  const bare = bareRootfs();
  expect(runInRoot(bare, ['/tmp/b/bin/jq', '-n', '[1,2,3] | add'], { binds: { [bundle.dir]: '/tmp/b' } }).stdout).toBe('6\n');
  expect(runInRoot(bare, ['/tmp/b/bin/jq-image', '-n', '[1,2,3] | add'], { binds: { [bundle.dir]: '/tmp/b' } }).stdout).toBe('6\n');
  expect(runInRoot(bare, ['/tmp/b/bin/python3', '-c', PY], { binds: { [bundle.dir]: '/tmp/b' } }).stdout).toBe('{"v": 42}\n');
  expect(runInRoot(bare, ['/tmp/b/bin/python3', '-c', 'import sys; print(sys.version_info[:2])'], { binds: { [bundle.dir]: '/tmp/b' } }).stdout).toBe('(3, 9)\n');
});

test('bad image entries are input errors', () => {
  const r = require('../helpers/cli').runCli(['create', '--name', 'x', '--out-dir', out, '--from-image', 'oci:/nonexistent::/usr/bin/jq']);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/IMAGE_NOT_FOUND/);
  const missingPath = require('../helpers/cli').runCli(['create', '--name', 'x', '--out-dir', out, '--from-image', `oci:${images.layout}:${IMAGE_TAG}::/usr/bin/nope`]);
  expect(missingPath.status).toBe(2);
  expect(missingPath.stderr).toMatch(/ENTRY_NOT_FOUND.*inside/);
  expect(require('../helpers/cli').runCli(['create', '--name', 'x', '--out-dir', out, '--from-image', 'oci:x::relative/path']).status).toBe(2);
});
