// How long a registry may keep us waiting: to open a connection, and between two bytes of an
// answer (headers or body). Declared once here (default, key in SIDEBUNDLE_REGISTRY_TIMEOUTS,
// meaning); docs/images.md ("Limits and timeouts") documents the same table.
import { SidebundleError } from '../errors';

export interface RegistryTimeouts {
  /** Milliseconds to open the TCP (and TLS) connection. */
  connectMs: number;
  /** Milliseconds without a byte, waiting for the answer's headers or between body bytes. */
  idleMs: number;
}

export const REGISTRY_TIMEOUTS_ENV = 'SIDEBUNDLE_REGISTRY_TIMEOUTS';

export const TIMEOUTS: { readonly [K in keyof RegistryTimeouts]: { key: string; seconds: number; what: string } } = {
  connectMs: { key: 'connect', seconds: 30, what: 'seconds to open a connection to the registry' },
  idleMs: { key: 'idle', seconds: 60, what: 'seconds the registry may stay silent while answering' },
};

const NAMES = Object.keys(TIMEOUTS) as Array<keyof RegistryTimeouts>;

export const DEFAULT_REGISTRY_TIMEOUTS: RegistryTimeouts = Object.fromEntries(NAMES.map((n) => [n, TIMEOUTS[n].seconds * 1000])) as unknown as RegistryTimeouts;

/** `connect=10,idle=120` (seconds, fractions allowed) → the timeouts it sets. */
export function parseRegistryTimeouts(text: string): Partial<RegistryTimeouts> {
  const result: Partial<RegistryTimeouts> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z]+)=(\d+(?:\.\d+)?)s?$/i.exec(item);
    const name = m ? NAMES.find((n) => TIMEOUTS[n].key === m[1]!.toLowerCase()) : undefined;
    if (!m || !name || !(Number(m[2]) > 0)) {
      throw new SidebundleError('BAD_OPTION', `${REGISTRY_TIMEOUTS_ENV}: "${item}" is not KEY=SECONDS with KEY one of ${NAMES.map((n) => TIMEOUTS[n].key).join(', ')}`, {
        input: item,
        kind: 'input',
        hint: `e.g. ${REGISTRY_TIMEOUTS_ENV}=connect=10,idle=120`,
      });
    }
    result[name] = Number(m[2]) * 1000;
  }
  return result;
}

/** The defaults, then the environment, then what the caller gives. */
export function registryTimeouts(given: Partial<RegistryTimeouts> = {}, env: NodeJS.ProcessEnv = process.env): RegistryTimeouts {
  return { ...DEFAULT_REGISTRY_TIMEOUTS, ...parseRegistryTimeouts(env[REGISTRY_TIMEOUTS_ENV] ?? ''), ...given };
}

/** The error for a registry that stalled: which host, what it was doing, and how to wait longer. */
export function timeoutError(host: string, stalled: 'connect' | 'idle', ms: number, what: string): SidebundleError {
  const seconds = ms / 1000;
  const message = stalled === 'connect'
    ? `${host} did not accept a connection within ${seconds} s (for ${what})`
    : `${host} stopped answering for ${seconds} s (for ${what})`;
  return new SidebundleError('IMAGE_REGISTRY_TIMEOUT', message, {
    input: host,
    details: { host, stalled, seconds },
    hint: `check the registry and your network; to wait longer set ${REGISTRY_TIMEOUTS_ENV}=${TIMEOUTS[stalled === 'connect' ? 'connectMs' : 'idleMs'].key}=${Math.max(seconds * 4, 120)}`,
  });
}
