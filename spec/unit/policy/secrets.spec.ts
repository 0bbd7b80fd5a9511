// Secrets by location, name, content and inode; ordinary files (CA certificates, libraries,
// templates) are not.
import { linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { secretByContent, secretByName, secretChecker } from '../../../lib/policy/secrets';
import { tempDir } from '../../helpers/tmp';

describe('by location and name', () => {
  test.each([
    '/etc/shadow', '/etc/gshadow', '/etc/sudoers', '/etc/krb5.keytab', '/etc/ssl/private/site.key',
    '/etc/letsencrypt/live/example.org/privkey.pem', '/etc/pki/tls/private/x.key', '/etc/wireguard/wg0.conf',
    '/srv/app/.env', '/srv/app/.env.production', '/srv/app/.git-credentials', '/srv/app/credentials.json',
    '/home/u/.ssh/config', '/root/.aws/credentials', '/opt/x/id_ed25519', '/srv/app/service.keytab', '/srv/app/store.p12',
    '/srv/t/gh/private-keys-v1.d/2DB5C1.key', '/srv/keys/secring.gpg',
  ])('%s is a secret', (p) => {
    expect(secretByName(p)).toMatch(/^secret: /);
  });

  test.each([
    '/etc/passwd', '/etc/ssl/certs/ca-certificates.crt', '/usr/lib/x86_64-linux-gnu/libssl.so.3', '/srv/app/.env.example',
    '/srv/app/environment.py', '/usr/share/zoneinfo/UTC', '/srv/app/id_rsa.pub', '/etc/ssh_config_like',
  ])('%s is not', (p) => {
    expect(secretByName(p)).toBeUndefined();
  });
});

describe('by content', () => {
  test('PEM private keys, keytabs and tokens', () => {
    expect(secretByContent(Buffer.from('junk\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n'))).toBe('secret: a PEM private key');
    expect(secretByContent(Buffer.from('-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIaj5OG3Tq0ZGDgJ\n'))).toBe('secret: a PEM private key');
    expect(secretByContent(Buffer.from([0x05, 0x02, 0, 0, 0, 0x40, 0, 1, 0, 11]))).toBe('secret: a Kerberos keytab');
    expect(secretByContent(Buffer.from('TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123"'))).toBe('secret: holds an access token');
    expect(secretByContent(Buffer.from('[default]\naws_secret_access_key = abc'))).toBe('secret: holds a credential');
    // gpg-agent's key files, under a GNUPGHOME of any name: the extended format and the canonical S-expression.
    expect(secretByContent(Buffer.from('Created: 20261202T150239\nKey: (private-key (ecc (curve Ed25519)(flags eddsa)(q\n #40AB#)))\n'))).toBe('secret: a GnuPG private key');
    expect(secretByContent(Buffer.from('Key: (protected-private-key (rsa (n #00C1#)))\n'))).toBe('secret: a GnuPG private key');
    expect(secretByContent(Buffer.concat([Buffer.from('(21:protected-private-key(3:rsa(1:n257:'), Buffer.from([0, 0xc1, 0x02])]))).toBe('secret: a GnuPG private key');
  });

  test('certificates, programs and ordinary text are not', () => {
    expect(secretByContent(Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB...'))).toBeUndefined();
    expect(secretByContent(Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.from('-----BEGIN RSA PRIVATE KEY-----')]))).toBeUndefined();
    expect(secretByContent(Buffer.from('print("hello")\n'))).toBeUndefined();
    // file(1)'s magic database holds the headers as patterns.
    expect(secretByContent(Buffer.from('\0\0-----BEGIN RSA PRIVATE KEY-----\0\0\0PEM RSA private key\0'))).toBeUndefined();
    expect(secretByContent(readFileSync('/usr/lib/file/magic.mgc').subarray(0, 65536))).toBeUndefined();
  });
});

test('a checker over a root: content, and hard links to a known secret under another name', () => {
  const root = tempDir('sb-secrets-');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'srv/app'), { recursive: true });
  writeFileSync(path.join(root, 'etc/shadow'), 'root:$6$salt$hash:19000:0:99999:7:::\n');
  linkSync(path.join(root, 'etc/shadow'), path.join(root, 'srv/app/users.txt'));
  writeFileSync(path.join(root, 'srv/app/site.pem'), '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1x2y3z4\n');
  writeFileSync(path.join(root, 'srv/app/ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB...\n');
  const check = secretChecker((p) => path.join(root, p));
  expect(check('/srv/app/users.txt')).toBe('secret: a hard link to /etc/shadow');
  expect(check('/srv/app/site.pem')).toBe('secret: a PEM private key');
  expect(check('/srv/app/ca.pem')).toBeUndefined();
  expect(check('/srv/app/absent')).toBeUndefined();
});
