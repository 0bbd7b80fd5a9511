// The mutation core for fuzzing any binary parser: a seeded random source, and mutations (bit
// flips, boundary values written at known field offsets, truncations) recorded as data, so a
// failing case can be saved, printed and replayed. Format knowledge stays with the caller,
// which passes the fields worth hitting.

/** Uniform in [0, 1), reproducible from the seed (mulberry32). */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A little-endian integer field of the input, named for reports. */
export interface Field {
  name: string;
  offset: number;
  size: 1 | 2 | 4 | 8;
}

export type Mutation =
  | { kind: 'flip'; offset: number; bit: number }
  | { kind: 'set'; field: string; offset: number; size: Field['size']; value: string } // value: hex, bigint-safe in JSON
  | { kind: 'truncate'; length: number };

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Values at which length and offset arithmetic tends to break, for a field of `size` bytes. */
export function boundaryValues(size: Field['size'], original: bigint, inputLength: number): bigint[] {
  const max = (1n << BigInt(size * 8)) - 1n;
  const length = BigInt(inputLength);
  const candidates = [
    0n, 1n, 2n, 8n, 16n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x10000n, 0xfffffff0n, 0xffffffffn,
    max, max - 1n, max >> 1n, (max >> 1n) + 1n, length, length - 1n, length + 1n, length - 16n,
    original + 1n, original - 1n, original + 16n, original - 16n, original * 2n, original << 16n,
  ];
  return [...new Set(candidates.map((v) => ((v % (max + 1n)) + (max + 1n)) % (max + 1n)))];
}

/** One random mutation of an input of `length` bytes: mostly at `fields`, sometimes anywhere. */
export function randomMutation(random: Random, input: Buffer, fields: readonly Field[]): Mutation {
  const roll = random();
  if (roll < 0.6 && fields.length > 0) {
    const field = pick(random, fields);
    if (field.offset + field.size <= input.length) {
      const original = readField(input, field.offset, field.size);
      const value = pick(random, boundaryValues(field.size, original, input.length));
      return { kind: 'set', field: field.name, offset: field.offset, size: field.size, value: `0x${value.toString(16)}` };
    }
  }
  if (roll < 0.92 || input.length < 2) {
    // Flips cluster near field offsets and the start of the file, where the structure is.
    const near = fields.length > 0 && random() < 0.5 ? pick(random, fields).offset + Math.floor(random() * 16) : Math.floor(random() * input.length);
    return { kind: 'flip', offset: Math.min(near, input.length - 1), bit: Math.floor(random() * 8) };
  }
  return { kind: 'truncate', length: Math.floor(random() * input.length) };
}

/** A new buffer: `input` with the mutations applied in order (the input is not changed). */
export function applyMutations(input: Buffer, mutations: readonly Mutation[]): Buffer {
  const out = Buffer.from(input);
  return out.subarray(0, mutateInPlace(out, mutations).length);
}

/** What mutateInPlace changed: byte ranges [start, end) and the length the input now has. */
export interface Touched {
  ranges: Array<[number, number]>;
  length: number;
}

/**
 * Apply the mutations to `buffer` itself (a truncation only lowers the returned length), so a
 * caller can patch a big input and its file copy by the few bytes changed, then restore them.
 */
export function mutateInPlace(buffer: Buffer, mutations: readonly Mutation[]): Touched {
  const touched: Touched = { ranges: [], length: buffer.length };
  for (const m of mutations) {
    if (m.kind === 'truncate') touched.length = Math.min(m.length, touched.length);
    else if (m.kind === 'flip') {
      if (m.offset >= touched.length) continue;
      buffer[m.offset]! ^= 1 << m.bit;
      touched.ranges.push([m.offset, m.offset + 1]);
    } else if (m.offset + m.size <= touched.length) {
      writeField(buffer, m.offset, m.size, BigInt(m.value));
      touched.ranges.push([m.offset, m.offset + m.size]);
    }
  }
  return touched;
}

/** Between 1 and `most` random mutations, drawn against the input as it changes. */
export function randomMutations(random: Random, input: Buffer, fields: readonly Field[], most = 4): Mutation[] {
  const mutations: Mutation[] = [];
  let current = input;
  for (let n = 1 + Math.floor(random() * most); n > 0; n--) {
    const m = randomMutation(random, current, fields);
    mutations.push(m);
    if (m.kind === 'truncate') current = current.subarray(0, m.length);
  }
  return mutations;
}

export function readField(buffer: Buffer, offset: number, size: Field['size']): bigint {
  switch (size) {
    case 1: return BigInt(buffer.readUInt8(offset));
    case 2: return BigInt(buffer.readUInt16LE(offset));
    case 4: return BigInt(buffer.readUInt32LE(offset));
    case 8: return buffer.readBigUInt64LE(offset);
  }
}

function writeField(buffer: Buffer, offset: number, size: Field['size'], value: bigint): void {
  switch (size) {
    case 1: buffer.writeUInt8(Number(value), offset); break;
    case 2: buffer.writeUInt16LE(Number(value), offset); break;
    case 4: buffer.writeUInt32LE(Number(value), offset); break;
    case 8: buffer.writeBigUInt64LE(value, offset); break;
  }
}
