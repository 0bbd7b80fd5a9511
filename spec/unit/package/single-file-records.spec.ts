// The record stream of a single file (format 4): fixed-size slices, records in sorted path
// order with mode and nanosecond mtime, hard links as references to the first path.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { recordSlices } from '../../../lib/package/single-file-records';
import { tempDir } from '../../helpers/tmp';

interface Decoded {
  kind: string;
  mode: number;
  seconds: bigint;
  nanos: number;
  path: string;
  size?: number;
  target?: string;
}

/** A reader of the format, independent of the writer's code. */
function decode(stream: Buffer): Decoded[] {
  const out: Decoded[] = [];
  let at = 0;
  const name = () => {
    const n = stream.readUInt32LE(at);
    at += 4 + n;
    return stream.subarray(at - n, at).toString();
  };
  while (at < stream.length) {
    const r: Decoded = { kind: String.fromCharCode(stream[at]!), mode: stream.readUInt32LE(at + 1), seconds: stream.readBigInt64LE(at + 5), nanos: stream.readUInt32LE(at + 13), path: '' };
    at += 17;
    r.path = name();
    if (r.kind === 'f') {
      r.size = Number(stream.readBigUInt64LE(at));
      at += 8 + r.size;
    } else if (r.kind === 'l' || r.kind === 'h') {
      r.target = name();
    }
    out.push(r);
  }
  return out;
}

test('records carry modes and mtimes to the nanosecond, in sorted order, in slices of the asked size', () => {
  const dir = tempDir('sb-records-');
  mkdirSync(path.join(dir, 'b/sub'), { recursive: true });
  writeFileSync(path.join(dir, 'b/sub/big'), Buffer.alloc(2500, 7), { mode: 0o640 });
  linkSync(path.join(dir, 'b/sub/big'), path.join(dir, 'c-link'));
  symlinkSync('b/sub/big', path.join(dir, 'a-sym'));
  utimesSync(path.join(dir, 'b/sub/big'), 1_600_000_000.123456, 1_600_000_000.123456);
  // Before 1970: whole seconds round down, nanoseconds stay positive (Node's utimes cannot).
  execFileSync('touch', ['-d', '@-5.25', path.join(dir, 'b')]);
  const stats = { bytes: 0 };
  const slices = [...recordSlices(dir, stats, 1000)].map((s) => Buffer.from(s));
  expect(slices.slice(0, -1).map((s) => s.length)).toEqual(slices.slice(0, -1).map(() => 1000));
  expect(slices.at(-1)!.length).toBeGreaterThan(0);
  const records = decode(Buffer.concat(slices));
  expect(records.map((r) => `${r.kind} ${r.path}`)).toEqual(['l a-sym', 'd b', 'd b/sub', 'f b/sub/big', 'h c-link']);
  const big = records.find((r) => r.path === 'b/sub/big')!;
  expect({ mode: big.mode, size: big.size, seconds: big.seconds }).toEqual({ mode: 0o640, size: 2500, seconds: 1_600_000_000n });
  // utimes goes through a double: microseconds survive.
  expect(Math.round(big.nanos / 1000)).toBe(123456);
  expect(records.find((r) => r.path === 'b')).toMatchObject({ seconds: -6n, nanos: 750_000_000 });
  expect(records.find((r) => r.path === 'c-link')!.target).toBe('b/sub/big');
  expect(records.find((r) => r.path === 'a-sym')!.target).toBe('b/sub/big');
  expect(stats.bytes).toBe(2500);
});

test('the same tree gives the same bytes whatever the slice size', () => {
  const dir = tempDir('sb-records-');
  for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(777 * i, i));
  const whole = (size: number) => Buffer.concat([...recordSlices(dir, { bytes: 0 }, size)].map((s) => Buffer.from(s)));
  expect(whole(64).equals(whole(1 << 20))).toBe(true);
});
