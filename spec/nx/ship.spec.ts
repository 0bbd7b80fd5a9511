// Images out and the report as Nx outputs, in a real workspace: package writes the OCI layout,
// the oci-archive and the report that sidebundle.json asks for (skopeo reads the image), Nx
// restores all three from its cache, an image path given on the command line is an output too,
// and the inferred push target (never cached) pushes the same image to a loopback registry on
// every run.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

import { IMAGE_TAG, imageFixtures } from '../fixtures/images';
import { startRegistry, type Registry } from '../image/registry-fixture';
import { tempDir } from '../helpers/tmp';
import { contentDigest } from '../helpers/tree';
import { createWorkspace, nx, packRepository } from './workspace';

jest.setTimeout(300_000);

const base = tempDir('sb-nx-ship-');
const ws = path.join(base, 'workspace');
const layout = path.join(ws, 'dist/images/jq');
const archive = path.join(ws, 'dist/images/jq.oci.tar');
const report = path.join(ws, 'dist/bundles/jq.report.html');
let registry: Registry;

beforeAll(async () => {
  registry = await startRegistry(path.join(base, 'registry'));
  createWorkspace(ws, {
    tarball: packRepository(path.join(base, 'pack')),
    projects: {
      'apps/jq': {
        'project.json': JSON.stringify({ name: 'jq' }),
        'sidebundle.json': JSON.stringify({
          name: 'jq',
          entries: ['/usr/bin/jq'],
          emitOci: 'dist/images/jq',
          emitOciArchive: 'dist/images/jq.oci.tar',
          report: true,
          push: `registry://${registry.host}/nx/jq:1`,
        }),
      },
      'apps/fromimage': {
        'project.json': JSON.stringify({ name: 'fromimage' }),
        'sidebundle.json': JSON.stringify({ name: 'fromimage', entries: [{ image: `oci:${imageFixtures().layout}:${IMAGE_TAG}`, path: '/usr/bin/jq' }], emitOci: 'dist/images/fromimage' }),
      },
    },
  });
});
afterAll(async () => {
  await registry?.stop();
});

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const skopeoDigest = (ref: string, ...flags: string[]) => (JSON.parse(execFileSync('skopeo', ['inspect', ...flags, ref], { encoding: 'utf8' })) as { Digest: string }).Digest;
/** The digest of the one image in an OCI layout, as index.json names it. */
const layoutDigest = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;

test('package writes the image layout, the oci-archive and the report sidebundle.json asks for', async () => {
  const run = await nx(ws, ['run', 'jq:package']);
  expect([run.status, run.output]).toEqual([0, expect.anything()]);
  expect(run.tasks['jq:package']).toBe('run');
  const digest = layoutDigest(layout);
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(skopeoDigest(`oci:${layout}:latest`)).toBe(digest);
  expect(skopeoDigest(`oci-archive:${archive}:latest`)).toBe(digest);
  const html = readFileSync(report, 'utf8');
  expect(html).toMatch(/^<!doctype html>/i);
  expect(html).toContain('/usr/bin/jq');
});

test('a second run restores the layout, the archive and the report from the cache, identical', async () => {
  const before = { layout: contentDigest(layout), archive: sha(archive), report: sha(report) };
  for (const p of [layout, archive, report]) rmSync(p, { recursive: true, force: true });
  expect([layout, archive, report].some((p) => existsSync(p))).toBe(false);
  const run = await nx(ws, ['run', 'jq:package']);
  expect(run.status).toBe(0);
  expect(run.tasks['jq:package']).toBe('cache');
  expect({ layout: contentDigest(layout), archive: sha(archive), report: sha(report) }).toEqual(before);
});

test('a run without the report removes the one an earlier run left; the cache brings it back with its bundle', async () => {
  const written = sha(report);
  const without = await nx(ws, ['run', 'jq:package', '--report=false']);
  expect(without.status).toBe(0);
  expect(without.tasks['jq:package']).toBe('run');
  expect(existsSync(report)).toBe(false);
  const again = await nx(ws, ['run', 'jq:package']);
  expect(again.tasks['jq:package']).toBe('cache');
  expect(sha(report)).toBe(written);
});

test('an image directory given on the command line (through bundle) is an output too', async () => {
  const extra = path.join(ws, 'dist/images/cli');
  const first = await nx(ws, ['run', 'jq:bundle', '--emitOci=dist/images/cli']);
  expect(first.status).toBe(0);
  expect(first.tasks['jq:package']).toBe('run'); // the option is in the task's hash
  const digest = layoutDigest(extra);
  expect(digest).toBe(layoutDigest(layout)); // one bundle, one image
  rmSync(extra, { recursive: true });
  const again = await nx(ws, ['run', 'jq:bundle', '--emitOci=dist/images/cli']);
  expect(again.status).toBe(0);
  expect(again.tasks['jq:package']).toBe('cache');
  expect(skopeoDigest(`oci:${extra}:latest`)).toBe(digest);
});

test('push is never a cache hit: each run pushes the image package made to the registry', async () => {
  const digest = layoutDigest(layout);
  const first = await nx(ws, ['run', 'jq:push']);
  expect([first.status, first.output]).toEqual([0, expect.anything()]);
  expect(first.tasks['jq:package']).toBe('cache');
  expect(first.tasks['jq:push']).toBe('run');
  expect(skopeoDigest(`docker://${registry.host}/nx/jq:1`, '--tls-verify=false')).toBe(digest);
  // Again, to another tag (an option of the push target): it runs and the image arrives there.
  const second = await nx(ws, ['run', 'jq:push', `--push=registry://${registry.host}/nx/jq:2`]);
  expect(second.status).toBe(0);
  expect(second.tasks['jq:push']).toBe('run');
  expect(skopeoDigest(`docker://${registry.host}/nx/jq:2`, '--tls-verify=false')).toBe(digest);
});

test('an entry out of an image: package makes the image create makes, source annotations and all', async () => {
  const run = await nx(ws, ['run', 'fromimage:package']);
  expect([run.status, run.output]).toEqual([0, expect.anything()]);
  const nxLayout = path.join(ws, 'dist/images/fromimage');
  // The CLI of the same installed copy (the repository's own may have another launcher built since).
  const cli = spawnSync(process.execPath, [path.join(ws, 'node_modules/sidebundle/dist/lib/cli/main.js'), 'create', '--json', '--name', 'fromimage', '--from-image', `oci:${imageFixtures().layout}:${IMAGE_TAG}::/usr/bin/jq`, '--out-dir', path.join(base, 'cli'), '--emit-oci', path.join(base, 'cli-oci')], { encoding: 'utf8' });
  expect([cli.status, cli.stderr]).toEqual([0, expect.anything()]);
  const digest = layoutDigest(nxLayout);
  expect(digest).toBe(JSON.parse(cli.stdout).bundle.image.digest);
  // The source image's configuration and digest reached package through closure.json.
  const manifest = JSON.parse(readFileSync(path.join(nxLayout, 'blobs', ...digest.split(':')), 'utf8')) as { annotations: Record<string, string> };
  expect(manifest.annotations['dev.sidebundle.source.digest']).toMatch(/^sha256:/);
});

test('a push to something that is not a registry reference fails with the reason', async () => {
  const run = await nx(ws, ['run', 'jq:push', '--push=docker.io/library/jq']);
  expect(run.status).not.toBe(0);
  expect(run.output).toMatch(/--push docker\.io\/library\/jq is not registry:\/\/HOST\[:PORT\]\/REPO\[:TAG\]/);
});
