// Pulling over https from a real registry (Debian's docker-registry with a certificate of the
// test's own CA, on 127.0.0.2: only 127.0.0.1, localhost and ::1 get plain http), through the
// shipped command run as a program. bin.js starts as a shell script that keeps
// NODE_EXTRA_CA_CERTS from Node's start-up (scripts/bundle-cli.js says why); the certificates
// must then still be trusted by the pull, and the programs sidebundle starts must still see the
// variable as the user set it.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { IMAGE_TAG, imageFixtures } from '../fixtures/images';
import { cliPath } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { push, startRegistry, type Registry } from './registry-fixture';

jest.setTimeout(300_000);

const dir = tempDir('sb-registry-tls-');
const ca = path.join(dir, 'ca.pem');
let registry: Registry;

/** A CA, and a certificate it signed for 127.0.0.2. */
function certificates(): { certificate: string; key: string } {
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sidebundle test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.2']);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.2\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
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
  delete environment.NODE_EXTRA_CA_CERTS;
  delete environment.SIDEBUNDLE_NODE_EXTRA_CA_CERTS;
  for (const [name, value] of Object.entries(env)) if (value !== undefined) environment[name] = value;
  const [command, argv] = options.throughNode ? [process.execPath, [cliPath, ...args]] : [cliPath, args];
  return spawnSync(command, argv, { encoding: 'utf8', env: environment, cwd: dir });
}

const jqFromRegistry = (out: string) => ['create', '--name', 'jq', '--from-image', `registry://${registry.host}/test/bullseye:1::/usr/bin/jq`, '--out-dir', path.join(dir, out), '--trace-backend', 'off', '--json'];

test('the shipped command starts as a shell script that hands itself to node', () => {
  const text = readFileSync(cliPath, 'utf8');
  expect(text.split('\n', 1)[0]).toBe('#!/bin/sh');
  const result = sidebundle(['--version'], { NODE_EXTRA_CA_CERTS: ca });
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
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
