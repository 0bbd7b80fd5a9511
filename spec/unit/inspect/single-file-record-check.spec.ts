// verify's reading of a single file's records: what the writer makes passes, whatever the
// chunking; what the runner refuses (records.rs) is named.
import { linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { RecordCheck } from '../../../lib/inspect/single-file-record-check';
import { recordSlices } from '../../../lib/package/single-file-records';

function written(): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-records-'));
  mkdirSync(path.join(dir, 'payload/usr/bin'), { recursive: true });
  writeFileSync(path.join(dir, 'payload/usr/bin/tool'), Buffer.alloc(5000, 7));
  writeFileSync(path.join(dir, 'manifest.lock'), '{}\n');
  linkSync(path.join(dir, 'payload/usr/bin/tool'), path.join(dir, 'payload/usr/bin/tool2'));
  symlinkSync('tool', path.join(dir, 'payload/usr/bin/link'));
  return Buffer.concat([...recordSlices(dir, { bytes: 0 }, 4096)]);
}

function record(kind: string, name: string, rest: Buffer = Buffer.alloc(0), nanos = 0): Buffer {
  const head = Buffer.alloc(21);
  head.write(kind, 0, 'latin1');
  head.writeUInt32LE(0o755, 1);
  head.writeUInt32LE(nanos, 13);
  head.writeUInt32LE(Buffer.byteLength(name), 17);
  return Buffer.concat([head, Buffer.from(name), rest]);
}
const named = (s: string) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(Buffer.byteLength(s));
  return Buffer.concat([b, Buffer.from(s)]);
};
const sized = (content: string) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(Buffer.byteLength(content)));
  return Buffer.concat([b, Buffer.from(content)]);
};

function check(stream: Buffer, chunk = stream.length || 1): { problem: string | undefined; records: number } {
  const c = new RecordCheck();
  for (let at = 0; at < stream.length; at += chunk) c.feed(stream.subarray(at, at + chunk));
  return { problem: c.finish(), records: c.records };
}

test('the writer\'s records pass, fed whole, in odd chunks or a byte at a time', () => {
  const stream = written();
  for (const chunk of [stream.length, 4096, 333, 7, 1]) expect(check(stream, chunk)).toEqual({ problem: undefined, records: 7 });
});

test('what the runner refuses is named', () => {
  const dir = record('d', 'a');
  const cases: Array<[Buffer, string]> = [
    [record('f', '../escaped', sized('x')), 'unsafe path "../escaped" in the bundle'],
    [record('f', '/abs', sized('x')), 'unsafe path "/abs" in the bundle'],
    [record('f', 'a/b', sized('x')), 'a/b comes before its directory in the bundle'],
    [Buffer.concat([dir, record('h', 'a/h', named('a/none'))]), 'a/h links to a/none, which is no earlier file of the bundle'],
    [Buffer.concat([dir, dir]), 'a comes twice in the bundle'],
    [record('x', 'a'), 'unknown record kind 120 in the bundle'],
    [record('d', 'a', Buffer.alloc(0), 1_000_000_000), 'a time with 1000000000 nanoseconds in the bundle'],
    [Buffer.alloc(100, 0x5a), 'unknown record kind 90 in the bundle'],
    [record('f', 'f', sized('abc')).subarray(0, -1), "the bundle's records end early"],
    [record('d', 'a').subarray(0, 10), "the bundle's records end early"],
  ];
  for (const [stream, why] of cases) expect({ why, got: check(stream).problem }).toEqual({ why, got: why });
  // As the runner's Path components read them: '//' and an inner '.' are dropped.
  expect(check(Buffer.concat([dir, record('f', 'a//./f', sized('x')), record('h', 'a/g', named('a/f'))])).problem).toBeUndefined();
});
