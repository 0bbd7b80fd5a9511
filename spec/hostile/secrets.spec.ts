// Secrets a traced run reads or a --copy-dir holds are left out and reported, by location, name,
// content and inode; --trace-include alone does not ship one, --allow-secret does.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretsecretsecret\n-----END RSA PRIVATE KEY-----\n';
const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

/** Every regular file's bytes under `dir`, for "is this anywhere in the bundle" checks. */
function allBytes(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((rel) => path.join(dir, rel))
    .filter((p) => statSync(p, { throwIfNoEntry: false })?.isFile())
    .map((p) => readFileSync(p, 'latin1'))
    .join('\n');
}

function app(): { dir: string; files: string[] } {
  const dir = path.join(tempDir('sb-secrets-'), 'app');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{}');
  writeFileSync(path.join(dir, '.env'), 'DB_PASSWORD=hunter2\n');
  writeFileSync(path.join(dir, 'credentials.json'), '{"user": "me", "password": "hunter2"}\n');
  writeFileSync(path.join(dir, 'settings.dat'), PEM);
  writeFileSync(path.join(dir, 'notes.txt'), `token ${TOKEN}\n`);
  linkSync('/etc/shadow', path.join(dir, 'users.txt'));
  writeFileSync(path.join(dir, 'data.txt'), 'plain data\n');
  return { dir, files: ['.env', 'credentials.json', 'settings.dat', 'notes.txt', 'users.txt', 'data.txt'].map((f) => path.join(dir, f)) };
}

test('a traced run that reads secrets ships none of them and names each', () => {
  const { dir, files } = app();
  const out = path.join(dir, '..', 'out');
  // --trace-include of the whole directory: a temporary directory is otherwise left out as such.
  const r = runCli(['create', '--name', 's', '--out-dir', out, '--no-cache', '--trace-include', dir, '--from-host', `/bin/cat::trace=/bin/cat ${files.join(' ')}`]);
  expect(r.status).toBe(0);
  const bytes = allBytes(path.join(out, 's'));
  expect(bytes).toContain('plain data');
  expect(bytes).not.toContain('hunter2');
  expect(bytes).not.toContain('PRIVATE KEY');
  expect(bytes).not.toContain(TOKEN);
  expect(bytes).not.toContain(readFileSync('/etc/shadow', 'latin1').split('\n')[0]);
  for (const file of files.slice(0, 5)) expect(r.stderr).toContain(`${file}: secret`);
  expect(r.stderr).toContain(`--allow-secret ${path.join(dir, 'settings.dat')}`);
  expect(r.stderr).toMatch(/users\.txt: secret: a hard link to \/etc\/shadow/);
});

test('--trace-include does not ship a secret; --allow-secret does', () => {
  const { dir } = app();
  const out = path.join(dir, '..', 'out');
  const key = path.join(dir, 'settings.dat');
  const included = runCli(['create', '--name', 's', '--out-dir', out, '--no-cache', '--trace-include', key, '--from-host', `/bin/cat::trace=/bin/cat ${key}`]);
  expect(included.status).toBe(0);
  expect(allBytes(path.join(out, 's'))).not.toContain('PRIVATE KEY');
  const allowed = runCli(['create', '--name', 's', '--out-dir', out, '--no-cache', '--trace-include', key, '--allow-secret', key, '--from-host', `/bin/cat::trace=/bin/cat ${key}`]);
  expect(allowed.status).toBe(0);
  expect(allowed.stderr).not.toContain(': secret');
  expect(allBytes(path.join(out, 's'))).toContain('PRIVATE KEY');
});

test('--copy-dir leaves secrets out (with a warning) unless allowed', () => {
  const { dir } = app();
  execFileSync('git', ['init', '-q', dir]);
  const out = path.join(dir, '..', 'out');
  const r = runCli(['create', '--name', 'c', '--out-dir', out, '--no-cache', '--copy-dir', `${dir}:/opt/app`, '--from-host', '/bin/true']);
  expect(r.status).toBe(0);
  const shipped = readdirSync(path.join(out, 'c', 'payload', 'opt', 'app')).sort();
  expect(shipped).toEqual(['data.txt', 'package.json']);
  expect(r.stderr).toContain(`--copy-dir leaves out ${path.join(dir, 'settings.dat')}: secret: a PEM private key (to ship it: --allow-secret`);
  const allowed = runCli(['create', '--name', 'c', '--out-dir', out, '--no-cache', '--copy-dir', `${dir}:/opt/app`, '--allow-secret', path.join(dir, 'settings.dat'), '--from-host', '/bin/true']);
  expect(allowed.status).toBe(0);
  expect(readdirSync(path.join(out, 'c', 'payload', 'opt', 'app')).sort()).toEqual(['data.txt', 'package.json', 'settings.dat']);
});
