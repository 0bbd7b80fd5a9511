// Secrets are never shipped without an explicit --allow-secret, whatever path they sit under and
// whichever rule would otherwise let them in (--trace-include, a user's project, --copy-dir).
// A file is a secret by its location (/etc/shadow, /etc/ssl/private, ~/.ssh, ...), by its name
// (.env, credentials.json, id_rsa, *.keytab, ...), by its content (PEM private keys, Kerberos
// keytabs, well-known token formats), or by being a hard link to a known secret.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { TOKEN_FORMATS } from '../util/redact';

const SECRET_DIRS = [
  '/etc/ssl/private', '/etc/pki/tls/private', '/etc/pki/CA/private', '/etc/letsencrypt', '/etc/ssh', '/etc/sudoers.d',
  '/etc/wireguard', '/etc/ipsec.d/private', '/etc/openvpn/server/keys', '/var/lib/sss/secrets',
];
const SECRET_FILES = ['/etc/shadow', '/etc/gshadow', '/etc/shadow-', '/etc/gshadow-', '/etc/sudoers', '/etc/krb5.keytab', '/etc/ipsec.secrets', '/etc/security/opasswd'];
/** Directories of a user's credentials, anywhere in the path. */
const SECRET_COMPONENTS = new Set(['.ssh', '.gnupg', '.aws', '.kube', '.docker', '.password-store', '.vault-token', 'private-keys-v1.d']);
const SECRET_NAMES = [
  /^\.env(\..+)?$/, /^\.git-credentials$/, /^\.netrc$/, /^\.pgpass$/, /^\.pypirc$/, /^\.npmrc$/,
  /^credentials(\.json|\.yaml|\.yml|\.toml|\.xml)?$/, /^secrets?(\.json|\.yaml|\.yml|\.toml)$/, /^client_secret.*\.json$/,
  /^id_(rsa|dsa|ecdsa|ed25519)(_sk)?$/, /^secring\.(gpg|kbx)$/, /\.keytab$/, /\.(p12|pfx|jks|keystore)$/, /^service-account.*\.json$/,
];
/** Templates that name a secret file without holding one. */
const NOT_SECRET_NAMES = /\.(example|sample|template|dist|defaults?)$/;
const CONTENT_BYTES = 64 * 1024;
// A header followed by a key's body (base64, or PEM's Proc-Type headers): file(1)'s magic
// database holds the bare header strings as patterns, and is no secret.
const PEM_PRIVATE = /-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|ED25519) )?PRIVATE KEY-----\r?\n(Proc-Type:|[A-Za-z0-9+/=]{16,})|-----BEGIN PGP PRIVATE KEY BLOCK-----\r?\n/;
// gpg-agent's key files (private-keys-v1.d/*.key under any GNUPGHOME): the extended format's
// "Key: (private-key" line, or the canonical S-expression (binary: before the NUL test below).
const GPG_AGENT_KEY = /^(?:[A-Za-z-]+:[^\n]*\n)*Key: \((?:protected-)?private-key\b|^\((?:11:private-key|21:protected-private-key)\(/;
const TEXT_SECRETS = [/aws_secret_access_key\s*=/i, /_authToken\s*=/, /"private_key"\s*:\s*"-----BEGIN/];

/** Why `logical` is a secret by where it is or what it is called (no I/O), or undefined. */
export function secretByName(logical: string): string | undefined {
  const p = path.posix.normalize(logical);
  if (SECRET_FILES.includes(p)) return `secret: ${p} holds credentials`;
  const dir = SECRET_DIRS.find((d) => p === d || p.startsWith(`${d}/`));
  if (dir) return `secret: under ${dir}`;
  const parts = p.split('/');
  const component = parts.slice(0, -1).find((c) => SECRET_COMPONENTS.has(c));
  if (component) return `secret: under a ${component} directory`;
  const base = parts[parts.length - 1]!;
  if (SECRET_COMPONENTS.has(base)) return `secret: ${base}`;
  if (!NOT_SECRET_NAMES.test(base) && SECRET_NAMES.some((re) => re.test(base))) return `secret: a ${base} file holds credentials`;
  return undefined;
}

/** Why these bytes (the start of a file) are a secret, or undefined. Programs and libraries
 * are not judged by content (libcrypto holds the PEM header strings it parses). */
export function secretByContent(head: Buffer, tokens = true): string | undefined {
  if (head.subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1'))) return undefined;
  if (looksLikeKeytab(head)) return 'secret: a Kerberos keytab';
  if (GPG_AGENT_KEY.test(head.subarray(0, 4096).toString('latin1'))) return 'secret: a GnuPG private key';
  // Keys and tokens are text: binary data (magic databases, compiled tables) matches by chance.
  if (head.subarray(0, 8192).includes(0)) return undefined;
  const text = head.toString('latin1');
  if (PEM_PRIVATE.test(text)) return 'secret: a PEM private key';
  if (!tokens) return undefined;
  if (TEXT_SECRETS.some((re) => re.test(text))) return 'secret: holds a credential';
  for (const format of TOKEN_FORMATS) {
    format.lastIndex = 0;
    if (format.test(text)) return 'secret: holds an access token';
  }
  return undefined;
}

/** A keytab (MIT format): 0x05 0x02, then a first entry whose 32-bit big-endian size is sane. */
function looksLikeKeytab(head: Buffer): boolean {
  if (head.length < 8 || head[0] !== 0x05 || head[1] !== 0x02) return false;
  const size = head.readInt32BE(2);
  return size > 0 && size < 65536;
}

/** Source code and documentation quote key headers, token formats and credential keys (SDKs,
 * examples, tests) and are not judged by content; token formats and credential keys are
 * searched for only outside the system's directories. */
const CODE_OR_DOCS = /\.(py|pyi|pyc|js|mjs|cjs|ts|rb|pl|pm|go|rs|c|h|cc|cpp|java|kt|php|lua|sh|vim|el|rst|md|html?|[1-9]|txt\.gz)$/;
function tokensMatter(logical: string): boolean {
  return !/^\/(usr|lib|lib32|lib64|libx32|bin|sbin)\//.test(logical) && !CODE_OR_DOCS.test(logical);
}

/**
 * The secret checker of one root: by name, then by inode (hard links to the known secret files
 * of that root), then by content. `hostPath` maps a path inside the root to the host path.
 */
export function secretChecker(hostPath: (logical: string) => string): (logical: string) => string | undefined {
  const secretInodes = new Map<string, string>();
  for (const file of SECRET_FILES) {
    try {
      const st = statSync(hostPath(file));
      secretInodes.set(`${st.dev}:${st.ino}`, file);
    } catch {
      // not on this root
    }
  }
  return (logical) => {
    const byName = secretByName(logical);
    if (byName) return byName;
    let fd: number | undefined;
    try {
      const host = hostPath(logical);
      const st = statSync(host);
      if (!st.isFile()) return undefined;
      const linked = secretInodes.get(`${st.dev}:${st.ino}`);
      if (linked) return `secret: a hard link to ${linked}`;
      if (CODE_OR_DOCS.test(logical)) return undefined; // code is not a key file, whatever it quotes
      fd = openSync(host, 'r');
      const head = Buffer.alloc(Math.min(CONTENT_BYTES, st.size));
      const n = readSync(fd, head, 0, head.length, 0);
      return secretByContent(head.subarray(0, n), tokensMatter(logical));
    } catch {
      return undefined; // unreadable or gone: the caller reports it as such
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  };
}
