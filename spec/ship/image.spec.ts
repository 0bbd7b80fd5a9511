// Images out: a bundle as a FROM-scratch OCI image. Two builds give the same digest; the image
// of jq out of the bullseye test image is pushed to a loopback registry, pulled back with skopeo
// into an OCI layout and run with podman, printing what the source image prints; so is an image
// of the host's jq. The size against the source image is printed and recorded.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { runCli, startCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { IMAGE_TAG, imageFixtures } from '../fixtures/images';
import { runInRoot } from '../fixtures/run-in-root';
import { ImageStore, materializeImage } from '../../lib/image';
import { startRegistry, type Registry } from '../image/registry-fixture';

jest.setTimeout(600_000);

const dir = tempDir('sb-ship-');
const conf = path.join(dir, 'containers.conf');
writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
const podman = ['podman', '--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--runtime', 'runc', '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs'];
const podmanEnv = { ...process.env, CONTAINERS_CONF: conf };
let registry: Registry;
const pulled = path.join(os.tmpdir(), `sb-ship-pulled-${process.pid}`);
afterAll(() => rmSync(pulled, { recursive: true, force: true }));

beforeAll(async () => {
  registry = await startRegistry(path.join(dir, 'registry'));
});
afterAll(async () => {
  await registry?.stop();
});

interface Emitted { digest: string; entry: string; layerBytes: number; outputs: { ociDir?: string; ociArchive?: string; pushed?: string }; source?: { bytes: number; digest: string }; ratio?: number }

function create(args: string[]): { dir: string; image: Emitted } {
  const r = runCli(['create', '--json', ...args]);
  if (r.status !== 0) throw new Error(`create failed (${r.status}): ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout).bundle;
}

/** Pull `ref` from the registry with skopeo into an OCI layout, and run it with podman. */
function pullAndRun(ref: string, args: string[]): string {
  // podman reads an oci: path as an image name too: it must be lowercase.
  const layout = path.join(pulled, ref.replace(/\W/g, '-').toLowerCase());
  mkdirSync(pulled, { recursive: true });
  if (!existsSync(layout)) execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.host}/${ref}`, `oci:${layout}:pulled`], { stdio: ['ignore', 'ignore', 'pipe'] });
  return execFileSync(podman[0]!, [...podman.slice(1), 'run', '--rm', '--network', 'none', `oci:${layout}:pulled`, ...args], { env: podmanEnv, encoding: 'utf8' });
}

const record: Record<string, unknown> = {};
afterAll(() => {
  process.stdout.write(`image sizes: ${JSON.stringify(record)}\n`);
  writeFileSync(path.join(os.tmpdir(), 'sidebundle-ship-sizes.json'), `${JSON.stringify(record, null, 2)}\n`);
});

test('jq out of the bullseye image: pushed, pulled with skopeo, run by podman like the source; same digest twice', () => {
  const source = imageFixtures().layout;
  const from = `oci:${source}:${IMAGE_TAG}::/usr/bin/jq`;
  const first = create(['--name', 'jq', '--from-image', from, '--out-dir', path.join(dir, 'a'), '--emit-oci', path.join(dir, 'oci-a'), '--push', `registry://${registry.host}/ship/jq:1`]);
  const second = create(['--name', 'jq', '--from-image', from, '--out-dir', path.join(dir, 'b'), '--emit-oci-archive', path.join(dir, 'jq.oci.tar')]);
  expect(second.image.digest).toBe(first.image.digest);
  expect(first.image.outputs.pushed).toBe(`registry://${registry.host}/ship/jq:1@${first.image.digest}`);

  // The annotations name the source image, the sidebundle version and manifest.lock's digest.
  const index = JSON.parse(readFileSync(path.join(dir, 'oci-a', 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(path.join(dir, 'oci-a', 'blobs', index.manifests[0].digest.replace(':', '/')), 'utf8'));
  expect(manifest.layers).toHaveLength(1);
  expect(manifest.annotations['dev.sidebundle.source.digest']).toBe(first.image.source!.digest);
  expect(manifest.annotations['dev.sidebundle.manifest-lock.sha256']).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(manifest.annotations['dev.sidebundle.version']).toMatch(/^\d+\.\d+\.\d+/);
  const config = JSON.parse(readFileSync(path.join(dir, 'oci-a', 'blobs', manifest.config.digest.replace(':', '/')), 'utf8'));
  expect(config.config.Entrypoint).toEqual(['/usr/bin/jq']);

  // What the source image prints, run in its own unpacked root.
  const sourceRoot = rootOf();
  expect(pullAndRun('ship/jq:1', ['-n', '[1,2,3] | add'])).toBe(runInRoot(sourceRoot, ['/usr/bin/jq', '-n', '[1,2,3] | add']).stdout);
  expect(pullAndRun('ship/jq:1', ['--version'])).toBe(runInRoot(sourceRoot, ['/usr/bin/jq', '--version']).stdout);
  expect(runInRoot(sourceRoot, ['/usr/bin/jq', '--version']).stdout).toBe('jq-1.6\n'); // the comparison is not vacuous

  const ratio = first.image.ratio!;
  record.bullseyeJq = { sourceBytes: first.image.source!.bytes, imageBytes: first.image.layerBytes, ratio: Number(ratio.toFixed(1)) };
  expect(ratio).toBeGreaterThan(10);
});

let sourceRootfs: string | undefined;
const rootOf = () => sourceRootfs!;
beforeAll(async () => {
  sourceRootfs = (await materializeImage(`oci:${imageFixtures().layout}:${IMAGE_TAG}`, { store: new ImageStore(path.join(dir, 'store')) })).rootfs;
});

test('jq from this machine: an image that runs under podman as jq does here', () => {
  const host = create(['--name', 'hostjq', '--from-host', '/usr/bin/jq', '--out-dir', path.join(dir, 'h'), '--push', `registry://${registry.host}/ship/hostjq:1`]);
  expect(host.image.source).toBeUndefined();
  const here = execFileSync('/usr/bin/jq', ['-n', '[1,2,3] | add'], { encoding: 'utf8' });
  expect(pullAndRun('ship/hostjq:1', ['-n', '[1,2,3] | add'])).toBe(here);
  record.hostJq = { imageBytes: host.image.layerBytes };
});

test('--oci-entry naming no entry is BAD_OPTION, exit 2', () => {
  const r = runCli(['create', '--name', 'x', '--from-host', '/usr/bin/jq', '--out-dir', path.join(dir, 'x'), '--emit-oci', path.join(dir, 'oci-x'), '--oci-entry', 'nope']);
  expect(r.stderr).toMatch(/error\[BAD_OPTION\]: --oci-entry nope is not an entry of .*\n {2}hint: entries: jq/);
  expect(r.status).toBe(2);
});

test('--emit-oci into an OCI layout adds the image beside those it lists; a second build of the same tag replaces its own', () => {
  const layout = path.join(dir, 'shared-layout');
  execFileSync('skopeo', ['copy', `oci:${imageFixtures().layout}:${IMAGE_TAG}`, `oci:${layout}:other`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const tags = () => JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')).manifests.map((d: { annotations?: Record<string, string> }) => d.annotations?.['org.opencontainers.image.ref.name']);
  const built = create(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', path.join(dir, 'into-layout'), '--emit-oci', layout]);
  expect(tags()).toEqual(['other', 'latest']);
  create(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', path.join(dir, 'into-layout'), '--emit-oci', layout]);
  expect(tags()).toEqual(['other', 'latest']);
  // Both read back by another tool: the source image as it was, ours by its digest.
  const inspect = (tag: string) => JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:${tag}`], { encoding: 'utf8' }));
  expect(inspect('other').layers.length).toBeGreaterThan(0);
  expect(execFileSync('skopeo', ['inspect', '--format', '{{.Digest}}', `oci:${layout}:latest`], { encoding: 'utf8' }).trim()).toBe(built.image.digest);
});

test('--emit-oci into a directory that holds other files and is no OCI layout: exit 2 before anything is published or written', () => {
  const out = path.join(dir, 'not-layout-out');
  create(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out]);
  const before = readFileSync(path.join(out, 'jq', 'manifest.lock'), 'utf8');
  const home = path.join(dir, 'some-home');
  mkdirSync(home);
  writeFileSync(path.join(home, 'notes.txt'), 'mine\n');
  const r = runCli(['create', '--name', 'jq', '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/curl', '--out-dir', out, '--emit-oci', home]);
  expect(r.stderr).toMatch(/error\[BAD_OPTION\]: --emit-oci .*some-home is a directory that holds other files and is no OCI image layout \(no oci-layout file\)\n {2}hint: .*nothing was published/);
  expect(r.status).toBe(2);
  expect(readdirSync(home)).toEqual(['notes.txt']);
  expect(readFileSync(path.join(out, 'jq', 'manifest.lock'), 'utf8')).toBe(before);
});

test('a push that fails changes nothing: the previous bundle, the layout and the archive stay as they were', () => {
  const out = path.join(dir, 'push-fails');
  const layout = path.join(dir, 'push-fails-layout');
  const archive = path.join(dir, 'push-fails-archive', 'jq.tar');
  create(['--name', 'kept', '--from-host', '/usr/bin/jq', '--out-dir', out]);
  const before = readFileSync(path.join(out, 'kept', 'manifest.lock'), 'utf8');
  // Port 1 on loopback: nothing listens there, the connection is refused.
  const r = runCli(['create', '--name', 'kept', '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/curl', '--out-dir', out, '--emit-oci', layout, '--emit-oci-archive', archive, '--push', 'registry://127.0.0.1:1/x/y:1']);
  expect(r.stderr).toMatch(/error\[IMAGE_REGISTRY_UNREACHABLE\]: cannot reach 127\.0\.0\.1:1/);
  expect(r.status).not.toBe(0);
  expect(readFileSync(path.join(out, 'kept', 'manifest.lock'), 'utf8')).toBe(before);
  expect(readdirSync(out)).toEqual(['kept']); // no staging left
  expect(existsSync(layout)).toBe(false);
  expect(readdirSync(path.dirname(archive))).toEqual([]); // its directory was made; no file, no temporary
  expect(readdirSync(dir).filter((n) => n.startsWith('.sidebundle-oci-'))).toEqual([]);
});

test('image outputs that would harm: a device, the bundle itself, a path inside it, a layout with links out: exit 2, nothing written', () => {
  const out = path.join(dir, 'harm');
  create(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out]);
  const device = path.join(dir, 'harm-null');
  execFileSync('mknod', ['-m', '666', device, 'c', '1', '3']);
  const linked = path.join(dir, 'harm-layout');
  mkdirSync(linked);
  writeFileSync(path.join(linked, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const victim = path.join(dir, 'harm-victim');
  writeFileSync(victim, 'mine\n');
  symlinkSync(victim, path.join(linked, 'index.json'));
  const cases: Array<[string[], RegExp]> = [
    [['--emit-oci-archive', device], /--emit-oci-archive \S+ is a device, FIFO or socket, not a file to replace/],
    [['--emit-oci-archive', path.join(out, 'jq', 'img.tar')], /is the bundle \S+, its single file or inside it/],
    [['--emit-oci', path.join(out, 'jq')], /is the bundle \S+, its single file or inside it/],
    [['--emit-oci', path.join(out, 'jq.run')], /is the bundle \S+, its single file or inside it/],
    [['--emit-oci', linked], /has index\.json as a symbolic link: writing through it would change what lies outside the layout/],
  ];
  for (const [extra, message] of cases) {
    const r = runCli(['create', '--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out, ...extra]);
    expect({ extra, status: r.status, stderr: r.stderr }).toEqual({ extra, status: 2, stderr: expect.stringMatching(message) });
  }
  expect(statSync(device).isCharacterDevice()).toBe(true);
  expect(readFileSync(victim, 'utf8')).toBe('mine\n');
  expect(runCli(['verify', path.join(out, 'jq')]).status).toBe(0);
});

test('Ctrl+C while the layer is written ends the write at once: a second Ctrl+C a moment later finds nothing left to clean up', async () => {
  // Before, the layer writer went on to the end of the layer (seconds for node's 100 MiB), and a
  // user's second Ctrl+C meanwhile exited on the spot, leaving the scratch layout behind.
  const out = path.join(dir, 'interrupted-out');
  const layout = path.join(dir, 'interrupted-layout');
  create(['--name', 'kept', '--from-host', '/usr/bin/jq', '--out-dir', out]);
  const before = readFileSync(path.join(out, 'kept', 'manifest.lock'), 'utf8');
  const child = startCli(['create', '--name', 'kept', '--from-host', '/usr/bin/node', '--out-dir', out, '--emit-oci', layout]);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const layerStarted = () => readdirSync(dir).filter((n) => n.startsWith('.sidebundle-oci-')).some((scratch) => {
    const blobs = path.join(dir, scratch, 'blobs', 'sha256');
    return existsSync(blobs) && readdirSync(blobs).some((n) => n.startsWith('.layer-'));
  });
  let seen = false;
  for (let i = 0; i < 20000 && child.exitCode === null && !seen; i++) {
    seen = layerStarted();
    if (!seen) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  expect(seen).toBe(true);
  child.kill('SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  if (child.exitCode === null) child.kill('SIGINT'); // the impatient user
  expect(await exited).toBe(130);
  expect(readdirSync(dir).filter((n) => n.startsWith('.sidebundle-oci-'))).toEqual([]);
  expect(existsSync(layout)).toBe(false);
  expect(readFileSync(path.join(out, 'kept', 'manifest.lock'), 'utf8')).toBe(before);
  expect(readdirSync(out)).toEqual(['kept']);
});
