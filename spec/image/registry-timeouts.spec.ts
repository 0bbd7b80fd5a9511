// A registry that stalls: one that never accepts the connection, one that accepts and never
// answers, one that sends headers and then nothing. Each ends with IMAGE_REGISTRY_TIMEOUT naming
// the host and what stalled (small timeouts here); an abort ends as INTERRUPTED, and through the
// CLI, Ctrl+C on a stalled pull exits 130, never INTERNAL.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

import { SidebundleError } from '../../lib/errors';
import { ImageStore, materializeImage, RegistryClient } from '../../lib/image';
import { parseRegistryTimeouts, registryTimeouts } from '../../lib/image/registry-timeouts';
import { cliPath } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-stall-');
const small = { connectMs: 300, idleMs: 300 };

interface Stalling { host: string; accepted: () => number; close(): Promise<void> }

/** A TCP server that accepts and then does `onSocket` (by default: nothing at all). */
async function stallingServer(onSocket: (socket: net.Socket) => void = () => undefined): Promise<Stalling> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    accepted: () => sockets.length,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/**
 * A listener whose accept queue is full (backlog 0, never accepting, two connections parked):
 * the kernel drops further SYNs, so a connect hangs as it does to a dead host.
 */
async function unacceptingListener(): Promise<{ host: string; close(): void }> {
  const child: ChildProcess = spawn('python3', ['-c', [
    'import socket,sys,time',
    's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(600)',
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const parked: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    parked.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  return { host: `127.0.0.1:${port}`, close: () => { for (const s of parked) s.destroy(); child.kill(); } };
}

describe('timeouts are read from one table', () => {
  test('defaults are 30 s to connect and 60 s of silence', () => {
    expect(registryTimeouts({}, {})).toEqual({ connectMs: 30_000, idleMs: 60_000 });
  });

  test('SIDEBUNDLE_REGISTRY_TIMEOUTS sets them in seconds, and options win over it', () => {
    expect(registryTimeouts({}, { SIDEBUNDLE_REGISTRY_TIMEOUTS: 'connect=5,idle=0.5' })).toEqual({ connectMs: 5000, idleMs: 500 });
    expect(registryTimeouts({ idleMs: 7 }, { SIDEBUNDLE_REGISTRY_TIMEOUTS: 'idle=9' }).idleMs).toBe(7);
  });

  test('a malformed value is BAD_OPTION naming the item', () => {
    expect(() => parseRegistryTimeouts('connect=soon')).toThrow(expect.objectContaining({ code: 'BAD_OPTION', input: 'connect=soon' }));
    expect(() => parseRegistryTimeouts('idle=0')).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
  });
});

describe('a stalled registry is a timeout naming the host and what stalled', () => {
  test('a connection that is never accepted: connect timeout', async () => {
    const listener = await unacceptingListener();
    try {
      const client = new RegistryClient(listener.host, 'test/x', { timeouts: small, env: {} });
      const started = Date.now();
      const error = await client.manifest('1').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'IMAGE_REGISTRY_TIMEOUT', input: listener.host, details: { stalled: 'connect' } });
      expect((error as Error).message).toMatch(new RegExp(`${listener.host} did not accept a connection within 0.3 s \\(for manifest 1\\)`));
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      listener.close();
    }
  });

  test('accepted, never answered: idle timeout waiting for the headers', async () => {
    const server = await stallingServer();
    try {
      const client = new RegistryClient(server.host, 'test/x', { timeouts: small, env: {} });
      const error = await client.manifest('1').catch((e: unknown) => e);
      expect(server.accepted()).toBeGreaterThanOrEqual(1); // the precondition: it did connect
      expect(error).toMatchObject({ code: 'IMAGE_REGISTRY_TIMEOUT', details: { stalled: 'idle' } });
      expect((error as SidebundleError).message).toMatch(`${server.host} stopped answering for 0.3 s (for manifest 1)`);
      expect((error as SidebundleError).hint).toMatch(/SIDEBUNDLE_REGISTRY_TIMEOUTS=idle=/);
    } finally {
      await server.close();
    }
  });

  test('headers, then a stall in the middle of a blob: the body stream fails with the timeout', async () => {
    const server = await stallingServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nfirst bytes'));
    try {
      const client = new RegistryClient(server.host, 'test/x', { timeouts: small, env: {} });
      const body = await client.blob({ mediaType: 'application/octet-stream', digest: `sha256:${'0'.repeat(64)}`, size: 100000 });
      const chunks: Buffer[] = [];
      const error = await (async () => { for await (const c of body) chunks.push(c as Buffer); })().catch((e: unknown) => e);
      expect(Buffer.concat(chunks).toString()).toBe('first bytes');
      expect(error).toMatchObject({ code: 'IMAGE_REGISTRY_TIMEOUT', details: { stalled: 'idle' }, message: expect.stringContaining(`blob sha256:${'0'.repeat(64)}`) });
    } finally {
      await server.close();
    }
  });

  test('headers then a stalled manifest body, through materializeImage', async () => {
    const server = await stallingServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 5000\r\n\r\n{"sche'));
    try {
      const store = new ImageStore(path.join(dir, 'store'));
      await expect(materializeImage(`registry://${server.host}/test/x:1`, { store, registry: { timeouts: small, env: {} } })).rejects.toMatchObject({ code: 'IMAGE_REGISTRY_TIMEOUT', input: server.host });
    } finally {
      await server.close();
    }
  });

  test('an abort while the registry stalls ends with the abort reason, at once', async () => {
    const server = await stallingServer();
    try {
      const controller = new AbortController();
      const client = new RegistryClient(server.host, 'test/x', { signal: controller.signal, env: {} });
      setTimeout(() => controller.abort(new SidebundleError('INTERRUPTED', 'interrupted by SIGINT')), 200);
      const started = Date.now();
      await expect(client.manifest('1')).rejects.toMatchObject({ code: 'INTERRUPTED' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await server.close();
    }
  });
});

/** The built CLI, started without waiting (the stalling server lives in this process). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'xdg'), ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  return { child, exited };
}

describe('through the CLI', () => {
  test('a stall is IMAGE_REGISTRY_TIMEOUT, exit 1, naming the host and the setting to change', async () => {
    const server = await stallingServer();
    try {
      const r = await cli(['create', '--name', 'x', '--out-dir', path.join(dir, 'out'), '--from-image', `registry://${server.host}/test/x:1::/usr/bin/jq`], { SIDEBUNDLE_REGISTRY_TIMEOUTS: 'idle=0.5' }).exited;
      expect(r.stderr).toContain(`error[IMAGE_REGISTRY_TIMEOUT]: ${server.host} stopped answering for 0.5 s`);
      expect(r.stderr).toMatch(/hint: .*SIDEBUNDLE_REGISTRY_TIMEOUTS/);
      expect(r.stderr).not.toContain('INTERNAL');
      expect(r.status).toBe(1);
    } finally {
      await server.close();
    }
  });

  test('Ctrl+C during a stalled pull exits 130 with INTERRUPTED, not INTERNAL', async () => {
    const server = await stallingServer();
    try {
      const run = cli(['create', '--name', 'x', '--out-dir', path.join(dir, 'out'), '--from-image', `registry://${server.host}/test/x:1::/usr/bin/jq`]);
      for (let i = 0; i < 200 && server.accepted() === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(server.accepted()).toBeGreaterThanOrEqual(1); // the pull is waiting on the registry
      run.child.kill('SIGINT');
      const r = await run.exited;
      expect(r.stderr).toContain('error[INTERRUPTED]: interrupted by SIGINT');
      expect(r.stderr).not.toContain('INTERNAL');
      expect(r.status).toBe(130);
    } finally {
      await server.close();
    }
  });
});
