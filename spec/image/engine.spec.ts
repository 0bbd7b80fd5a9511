// The engine path for real: podman (runc, vfs storage in a private root, as these machines
// run it) loads a docker-archive the test built; podman:// entries export the container
// filesystem; the agent and agent-combined backends trace inside a container of the image; and
// the docker client, pointed at podman's Docker-compatible API socket, serves docker://.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { DOCKER_NAME, imageFixtures } from '../fixtures/images';
import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(600_000);

const dir = tempDir('sb-engine-');
const conf = path.join(dir, 'containers.conf');
writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
const podman = ['podman', '--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--runtime', 'runc', '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs'];
const env = { CONTAINERS_CONF: conf };
const IMAGE = `docker.io/${DOCKER_NAME}`;
const out = path.join(dir, 'out');
const PY = 'import json, sqlite3; print(json.dumps({"sum": sum(r[0] for r in sqlite3.connect(":memory:").execute("select 20 union select 22"))}))';

function create(args: string[], extraEnv: Record<string, string> = {}) {
  const r = runCli(['create', '--out-dir', out, '--image-agent-cli', podman.join(' '), '--json', ...args], { env: { ...env, ...extraEnv } });
  if (r.status !== 0) throw new Error(`create failed: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout).bundle as { dir: string; traces: Array<{ backend: string; files: number }> };
}

beforeAll(() => {
  execFileSync(podman[0]!, [...podman.slice(1), 'load', '-i', imageFixtures().dockerArchive], { env: { ...process.env, ...env }, stdio: 'ignore' });
});

test('podman:// exports the image and bundles jq from it', () => {
  const bundle = create(['--name', 'jq-podman', '--from-image', `podman://${IMAGE}::/usr/bin/jq`]);
  expect(runOnHost([path.join(bundle.dir, 'bin/jq'), '-n', '[3, 4] | add']).stdout).toBe('7\n');
  expect(runInRoot(bareRootfs(), ['/tmp/b/bin/jq', '--version'], { binds: { [bundle.dir]: '/tmp/b' } }).stdout).toBe('jq-1.6\n');
});

test.each([
  ['agent', 'ptrace'],
  ['agent-combined', 'combined'],
])('--image-trace-backend %s traces python3 inside a container of the image', (backend, expected) => {
  const bundle = create(['--name', `py-${backend}`, '--image-trace-backend', backend, '--from-image', `podman://${IMAGE}::/usr/bin/python3::trace=/usr/bin/python3 -c 'import json, sqlite3'`]);
  expect(bundle.traces).toEqual([expect.objectContaining({ backend: expected })]);
  expect(bundle.traces[0]!.files).toBeGreaterThan(50);
  expect(runInRoot(bareRootfs(), ['/tmp/b/bin/python3', '-c', PY], { binds: { [bundle.dir]: '/tmp/b' } }).stdout).toBe('{"sum": 42}\n');
});

test('agent modes need an engine image: a clear error for oci: sources', () => {
  const r = runCli(['create', '--name', 'x', '--out-dir', out, '--image-trace-backend', 'agent', '--from-image', `oci:${imageFixtures().layout}:bullseye::/usr/bin/python3::trace=/usr/bin/python3 -V`]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/IMAGE_AGENT_NEEDS_ENGINE/);
});

test('the docker client against podman\'s Docker-compatible API: docker:// works', async () => {
  const socket = path.join(dir, 'docker.sock');
  const service: ChildProcess = spawn(podman[0]!, [...podman.slice(1), 'system', 'service', '--time=0', `unix://${socket}`], { env: { ...process.env, ...env }, stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      if (spawnSyncOk(['docker', 'version'], { DOCKER_HOST: `unix://${socket}` })) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = runCli(['create', '--out-dir', out, '--json', '--name', 'jq-docker', '--from-image', `docker://${IMAGE}::/usr/bin/jq`], { env: { ...env, DOCKER_HOST: `unix://${socket}` } });
    expect(r.status).toBe(0);
    const bundle = JSON.parse(r.stdout).bundle;
    expect(runOnHost([path.join(bundle.dir, 'bin/jq'), '--version']).stdout).toBe('jq-1.6\n');
  } finally {
    service.kill('SIGTERM');
  }
});

function spawnSyncOk(argv: string[], extraEnv: Record<string, string>): boolean {
  return require('node:child_process').spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...extraEnv }, stdio: 'ignore' }).status === 0;
}
