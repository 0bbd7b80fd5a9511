// The zip reader on archives built here byte by byte: stored and deflated members, and the ways
// a truncated or hostile archive can lie (each a ZIP_UNREADABLE error naming the file).
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';

import { readZipMember } from '../../../lib/util/zip';
import { tempDir } from '../../helpers/tmp';

interface Member { name: string; data: Buffer; method?: 0 | 8 }

/** A zip archive: local headers and data, the central directory, the end record. */
function zip(members: Member[], patch: { dirSize?: number; localOffset?: number; size?: number; method?: number } = {}): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const method = m.method ?? 8;
    const body = method === 8 ? deflateRawSync(m.data) : m.data;
    const name = Buffer.from(m.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(m.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(patch.method ?? method, 10);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(patch.size ?? m.data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(patch.localOffset ?? offset, 42);
    locals.push(local, name, body);
    central.push(dir, name);
    offset += local.length + name.length + body.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(patch.dirSize ?? dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

const dir = tempDir('sb-zip-');
const file = (name: string, bytes: Buffer) => {
  const at = path.join(dir, name);
  writeFileSync(at, bytes);
  return at;
};
const manifest = Buffer.from('Manifest-Version: 1.0\nClass-Path: lib/a.jar\n\n');

test('reads a deflated and a stored member, and says when there is no such member', () => {
  const at = file('ok.jar', zip([{ name: 'META-INF/MANIFEST.MF', data: manifest }, { name: 'a.txt', data: Buffer.from('plain'), method: 0 }]));
  expect(readZipMember(at, 'META-INF/MANIFEST.MF')?.toString()).toBe(manifest.toString());
  expect(readZipMember(at, 'a.txt')?.toString()).toBe('plain');
  expect(readZipMember(at, 'absent')).toBeUndefined();
});

test.each([
  ['a truncated archive (no end record)', () => zip([{ name: 'm', data: manifest }]).subarray(0, 40), /no end-of-central-directory record/],
  ['a central directory that claims more than the file holds', () => zip([{ name: 'm', data: manifest }], { dirSize: 5000 }), /runs past the end of the file/],
  ['a central directory of 1 GiB', () => zip([{ name: 'm', data: manifest }], { dirSize: 1 << 30 }), /claims 1073741824 bytes/],
  ['a member whose local header is not where the directory says', () => zip([{ name: 'm', data: manifest }], { localOffset: 7 }), /no local header/],
  ['a member that claims more than the limit', () => zip([{ name: 'm', data: manifest }], { size: 0x7fffffff }), /claims 2147483647 bytes/],
  ['an unknown compression method', () => zip([{ name: 'm', data: manifest }], { method: 12 }), /method 12/],
])('%s is a ZIP_UNREADABLE error naming the file', (_what, build, message) => {
  const at = file('bad.jar', build());
  expect(() => readZipMember(at, 'm')).toThrow(expect.objectContaining({ code: 'ZIP_UNREADABLE', input: at, message: expect.stringMatching(message) }));
});

test('a member that inflates past the limit (a zip bomb) stops at the limit', () => {
  const at = file('bomb.jar', zip([{ name: 'm', data: Buffer.alloc(4096) }], { size: 10 }));
  expect(() => readZipMember(at, 'm', 1024)).toThrow(expect.objectContaining({ code: 'ZIP_UNREADABLE', message: expect.stringMatching(/does not inflate/) }));
});
