// Structure-aware mutations of JSON documents (configs, OCI manifests): values replaced by other
// types, keys dropped or added, strings made hostile, numbers pushed to their edges; the text is
// then sometimes damaged byte-wise too. Seeded (see mutate.ts) so a finding replays.
import type { Random } from './mutate';

const HOSTILE_STRINGS = [
  '', '.', '..', '../../etc/passwd', '/', '/proc/self/fd/0', 'a\u0000b', 'x'.repeat(5000), '::', '::name=..', '${HOME}', '\n', 'sha256:', 'sha256:zz',
  `sha256:${'0'.repeat(64)}`, 'registry://127.0.0.1:1/x', '-rf', '\u202e', '%s%s%n',
];
const HOSTILE_NUMBERS = [0, -1, 1e308, -1e308, 2 ** 53, 0.5, NaN, 4294967296];

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function hostileValue(random: Random, depth: number): unknown {
  switch (Math.floor(random() * 7)) {
    case 0: return pick(random, HOSTILE_STRINGS);
    case 1: return pick(random, HOSTILE_NUMBERS);
    case 2: return random() < 0.5;
    case 3: return null;
    case 4: return depth > 2 ? [] : [hostileValue(random, depth + 1)];
    case 5: return depth > 2 ? {} : { [pick(random, HOSTILE_STRINGS)]: hostileValue(random, depth + 1) };
    default: return Array.from({ length: 3 }, () => pick(random, HOSTILE_STRINGS));
  }
}

/** A deep copy of `value` with one random node replaced, removed or joined by a new key. */
export function mutateJson(random: Random, value: unknown, depth = 0): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || random() < 0.2) return random() < 0.5 ? [...value, hostileValue(random, depth)] : hostileValue(random, depth);
    const i = Math.floor(random() * value.length);
    if (random() < 0.15) return value.filter((_, j) => j !== i);
    return value.map((v, j) => (j === i ? mutateJson(random, v, depth + 1) : v));
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0 || random() < 0.15) return { ...value, [pick(random, HOSTILE_STRINGS)]: hostileValue(random, depth) };
    const key = pick(random, keys);
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    if (random() < 0.2) delete copy[key];
    else copy[key] = mutateJson(random, copy[key], depth + 1);
    return copy;
  }
  return random() < 0.8 ? hostileValue(random, depth) : value;
}

/** Serialized, and one time in five damaged as text (cut short, a byte changed). */
export function mutatedJsonText(random: Random, value: unknown): Buffer {
  const text = Buffer.from(JSON.stringify(mutateJson(random, value)) ?? 'null');
  if (random() >= 0.2 || text.length < 2) return text;
  if (random() < 0.5) return text.subarray(0, Math.floor(random() * text.length));
  text[Math.floor(random() * text.length)] = Math.floor(random() * 256);
  return text;
}
