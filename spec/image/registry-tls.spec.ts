// Pulling over https from a real registry (Debian's docker-registry with a certificate of the
// test's own CA, on 127.0.0.2: only 127.0.0.1, localhost and ::1 get plain http), through the
// shipped command run as a program. bin.js starts as a shell script that keeps
// NODE_EXTRA_CA_CERTS from Node's start-up (scripts/bundle-cli.js says why); the certificates
// must then still be trusted by the pull, and the programs sidebundle starts must still see the
// variable as the user set it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';

import { exchange } from '../../lib/image/registry-http';
import { DEFAULT_REGISTRY_TIMEOUTS } from '../../lib/image/registry-timeouts';
import { recordDeferredCaCerts } from '../../lib/util/extra-ca-certs';
import { IMAGE_TAG, imageFixtures } from '../fixtures/images';
import { cliPath } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { push, startRegistry, type Registry } from './registry-fixture';

jest.setTimeout(300_000);

const dir = tempDir('sb-registry-tls-');
const ca = path.join(dir, 'ca.pem');
let registry: Registry;

const otherCa = path.join(dir, 'other-ca.pem');

/** A CA, and certificates it signed for 127.0.0.2 and for registry.test; and another CA, which
 * signed nothing here. */
function certificates(): { certificate: string; key: string } {
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caExtensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sidebundle test CA', ...caExtensions]);
  openssl(['req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=sidebundle other CA', ...caExtensions]);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.2']);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.2\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
  openssl(['req', ...ec, '-keyout', 'name.key', '-out', 'name.csr', '-subj', '/CN=registry.test']);
  writeFileSync(path.join(dir, 'name.ext'), 'subjectAltName=DNS:registry.test\n');
  openssl(['x509', '-req', '-in', 'name.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'name.pem', '-days', '2', '-extfile', 'name.ext']);
  return { certificate: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

beforeAll(async () => {
  registry = await startRegistry(path.join(dir, 'registry'), { address: '127.0.0.2', tls: certificates() });
  push(`oci:${imageFixtures().layout}:${IMAGE_TAG}`, registry.host, 'test/bullseye:1');
});

afterAll(async () => {
  await registry?.stop();
});

/** The shipped command, started as a program (its #! line), or through `node` when asked. */
function sidebundle(args: string[], env: Record<string, string | undefined>, options: { throughNode?: boolean } = {}) {
  const environment: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'xdg') };
  for (const name of ['NODE_EXTRA_CA_CERTS', 'SIDEBUNDLE_NODE_EXTRA_CA_CERTS', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR']) delete environment[name];
  for (const [name, value] of Object.entries(env)) if (value !== undefined) environment[name] = value;
  const [command, argv] = options.throughNode ? [process.execPath, [cliPath, ...args]] : [cliPath, args];
  return spawnSync(command, argv, { encoding: 'utf8', env: environment, cwd: dir });
}

const jqFromRegistry = (out: string) => ['create', '--name', 'jq', '--from-image', `registry://${registry.host}/test/bullseye:1::/usr/bin/jq`, '--out-dir', path.join(dir, out), '--trace-backend', 'off', '--json'];

test('the shipped command starts as a shell script that hands itself to node, which does not read the certificates at start-up', () => {
  const text = readFileSync(cliPath, 'utf8');
  expect(text.split('\n', 1)[0]).toBe('#!/bin/sh');
  const missing = path.join(dir, 'no-such.pem');
  // Node warns at start-up of an extra-certificates file it cannot load; a command that makes
  // no https exchange never reads it.
  const result = sidebundle(['--version'], { NODE_EXTRA_CA_CERTS: missing });
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  expect(sidebundle(['--version'], { NODE_EXTRA_CA_CERTS: missing }, { throughNode: true }).stderr).toContain(`Ignoring extra certs from \`${missing}\``);
});

test('the CA in NODE_EXTRA_CA_CERTS is trusted by an https pull, whether the command runs as a program or through node', () => {
  for (const [out, throughNode] of [['as-program', false], ['through-node', true]] as const) {
    const result = sidebundle(jqFromRegistry(out), { NODE_EXTRA_CA_CERTS: ca }, { throughNode });
    expect({ out, status: result.status, stderr: result.stderr }).toEqual({ out, status: 0, stderr: expect.any(String) });
    expect(JSON.parse(result.stdout).bundle.validation.ok).toBe(true);
    expect(execFileSync(path.join(dir, out, 'jq/bin/jq'), ['--version'], { encoding: 'utf8' })).toBe('jq-1.6\n');
  }
});

test('without that CA the pull fails on the certificate, and an unreadable file is a warning as from Node', () => {
  const untrusted = sidebundle(jqFromRegistry('untrusted'), {});
  expect(untrusted.status).not.toBe(0);
  expect(untrusted.stdout + untrusted.stderr).toMatch(/certificate/i);
  const missing = sidebundle(jqFromRegistry('missing-file'), { NODE_EXTRA_CA_CERTS: path.join(dir, 'no-such.pem') });
  expect(missing.status).not.toBe(0);
  expect(missing.stderr).toContain(`Ignoring extra certs from \`${path.join(dir, 'no-such.pem')}\``);
  expect(missing.stdout + missing.stderr).toMatch(/certificate/i);
});

test("the file's certificates are added to Node's default store, not put in its place: a CA trusted through OpenSSL's store stays trusted", () => {
  // --use-openssl-ca: Node's default store is OpenSSL's, here SSL_CERT_FILE (the registry's CA);
  // NODE_EXTRA_CA_CERTS names another CA. Node's roots plus the file would not trust the registry.
  const result = sidebundle(jqFromRegistry('openssl-store'), { NODE_OPTIONS: '--use-openssl-ca', SSL_CERT_FILE: ca, NODE_EXTRA_CA_CERTS: otherCa });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  expect(execFileSync(path.join(dir, 'openssl-store', 'jq/bin/jq'), ['--version'], { encoding: 'utf8' })).toBe('jq-1.6\n');
});

/** A forward proxy on loopback that opens CONNECT tunnels, to `route(target)` (default: the
 * target itself), and lists the targets it was asked for. */
async function startConnectProxy(route = (target: string) => target) {
  const tunnels: string[] = [];
  const sockets: net.Socket[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url!);
    sockets.push(client);
    const [host, port] = route(req.url!).split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.push(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`,
    tunnels,
    close: async () => {
      for (const socket of sockets) socket.destroy(); // a tunnel's sockets are no longer the server's to close
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

test('through an https proxy (CONNECT), the CA in NODE_EXTRA_CA_CERTS is trusted too', async () => {
  const proxy = await startConnectProxy();
  try {
    // Asynchronous: the proxy runs in this process.
    const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const environment: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'xdg'), HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: ca };
      for (const name of ['SIDEBUNDLE_NODE_EXTRA_CA_CERTS', 'NO_PROXY', 'no_proxy', 'https_proxy']) delete environment[name];
      const child = spawn(cliPath, jqFromRegistry('proxied'), { env: environment, cwd: dir });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      const timer = setTimeout(() => child.kill(), 60_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    expect(result.stderr).not.toContain('DeprecationWarning'); // no SNI for an IP address
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([registry.host]));
  } finally {
    await proxy.close();
  }
});

test('through the proxy, a registry named by a host name gets it as SNI and must present a certificate for it', async () => {
  // What bin.js records when it keeps NODE_EXTRA_CA_CERTS from Node's start-up: the exchange
  // then trusts this test's CA.
  recordDeferredCaCerts(ca);
  const names: Array<string | false | null> = [];
  const server = https.createServer({ key: readFileSync(path.join(dir, 'name.key')), cert: readFileSync(path.join(dir, 'name.pem')) }, (req, res) => {
    names.push((req.socket as import('node:tls').TLSSocket).servername);
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const proxy = await startConnectProxy((target) => target.replace(/^[a-z.]+:/, '127.0.0.1:'));
  const ask = (host: string) => exchange(new URL(`https://${host}:${port}/v2/`), { headers: {}, what: 'the probe' }, { timeouts: DEFAULT_REGISTRY_TIMEOUTS, env: { HTTPS_PROXY: proxy.url } });
  try {
    const response = await ask('registry.test');
    response.body.resume();
    expect(response.status).toBe(200);
    expect(names).toEqual(['registry.test']);
    await expect(ask('other.test')).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  } finally {
    recordDeferredCaCerts(undefined);
    await proxy.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a node app that starts as such a shell script is bundled as a node app and runs with the bundled node', () => {
  const app = path.join(dir, 'polyglot-app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), '{ "name": "polyglot-app", "version": "1.0.0" }\n');
  writeFileSync(path.join(app, 'greeting.js'), "module.exports = () => `hello from node ${process.version}`;\n");
  writeFileSync(path.join(app, 'cli'), [readFileSync(cliPath, 'utf8').split('\n', 2).join('\n'), "'use strict';", "console.log(require('./greeting')());", ''].join('\n'));
  chmodSync(path.join(app, 'cli'), 0o755);
  const result = sidebundle(['create', '--name', 'poly', '--from-host', path.join(app, 'cli'), '--out-dir', path.join(dir, 'poly'), '--trace-backend', 'off', '--json'], {});
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  expect(JSON.parse(result.stdout).bundle.validation.ok).toBe(true);
  // No node on PATH: the bundled one runs the app (its shell part would have looked for one).
  const run = spawnSync(path.join(dir, 'poly/poly/bin/cli'), { encoding: 'utf8', env: { PATH: '/nonexistent' } });
  expect({ status: run.status, stderr: run.stderr, stdout: run.stdout }).toEqual({ status: 0, stderr: '', stdout: `hello from node ${process.version}\n` });
});

test('the programs sidebundle starts see NODE_EXTRA_CA_CERTS as the user set it, and no variable of ours', () => {
  const script = path.join(dir, 'show-env');
  const seen = path.join(dir, 'seen-env');
  writeFileSync(script, `#!/bin/sh\nenv > '${seen}'\n`);
  chmodSync(script, 0o755);
  const result = sidebundle(['create', '--name', 'show', '--from-host', `${script}::trace=${script}`, '--out-dir', path.join(dir, 'env'), '--json'], { NODE_EXTRA_CA_CERTS: 'relative/ca.pem' });
  expect(result.status).toBe(0);
  const lines = readFileSync(seen, 'utf8').split('\n');
  expect(lines).toContain('NODE_EXTRA_CA_CERTS=relative/ca.pem');
  expect(lines.filter((line) => line.startsWith('SIDEBUNDLE_NODE_EXTRA_CA_CERTS'))).toEqual([]);
});
