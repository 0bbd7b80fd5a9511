// Single-file bundles: the static sidebundle-run with a published bundle appended, compressed.
// Run, it extracts the bundle once into a cache keyed by the digest of its contents and starts
// the entry from there in the same process (native/src/single.rs reads what this writes).
//
// Layout: runner ELF | raw DEFLATE of the records | trailer (64 bytes): "SIDEBUNDLE-SFX-1",
// offset (u64 LE), length (u64 LE), sha256 of the uncompressed records. Records, in sorted
// path order (data/ before payload/, so payload files become hard links to their content):
// kind d|f|l|h, mode u32, path (u32 length + bytes), then f: size u64 + bytes; l: target;
// h: the path of the earlier record it is a link to. Deterministic: same bundle, same bytes.
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { deflateRaw } from 'node:zlib';

const MAGIC = Buffer.from('SIDEBUNDLE-SFX-1', 'latin1');
const deflate = promisify(deflateRaw);

export interface SingleFileResult {
  path: string;
  /** sha256 of the uncompressed records: the extraction cache key. */
  digest: string;
  size: number;
  /** Bytes of the bundle's files (hard links counted once). */
  bundleBytes: number;
}

/** The records of a bundle directory (see the header), and how many content bytes they hold. */
export function bundleRecords(bundleDir: string): { records: Buffer; bytes: number } {
  const parts: Buffer[] = [];
  const seen = new Map<string, string>();
  let bytes = 0;
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([u32(b.length), b]);
  };
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(bundleDir, rel)).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(bundleDir, relPath);
      const st = lstatSync(full);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        parts.push(Buffer.from('d'), u32(mode), str(relPath));
        walk(relPath);
      } else if (st.isSymbolicLink()) {
        parts.push(Buffer.from('l'), u32(0o777), str(relPath), str(readlinkSync(full)));
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = seen.get(inode);
        if (first !== undefined) {
          parts.push(Buffer.from('h'), u32(mode), str(relPath), str(first));
        } else {
          seen.set(inode, relPath);
          const content = readFileSync(full);
          const size = Buffer.alloc(8);
          size.writeBigUInt64LE(BigInt(content.length));
          parts.push(Buffer.from('f'), u32(mode), str(relPath), size, content);
          bytes += content.length;
        }
      }
    }
  };
  walk('');
  return { records: Buffer.concat(parts), bytes };
}

/** Write `target` (atomically: a temporary sibling renamed into place). */
export async function writeSingleFile(bundleDir: string, runner: string, target: string): Promise<SingleFileResult> {
  const { records, bytes } = bundleRecords(bundleDir);
  const digest = createHash('sha256').update(records).digest();
  const compressed = await deflate(records, { level: 9, memLevel: 9 });
  const stub = readFileSync(runner);
  const trailer = Buffer.alloc(64);
  MAGIC.copy(trailer, 0);
  trailer.writeBigUInt64LE(BigInt(stub.length), 16);
  trailer.writeBigUInt64LE(BigInt(compressed.length), 24);
  digest.copy(trailer, 32);
  const tmp = `${path.join(path.dirname(target), `.${path.basename(target)}`)}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, Buffer.concat([stub, compressed, trailer]));
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  return { path: target, digest: digest.toString('hex'), size: stub.length + compressed.length + 64, bundleBytes: bytes };
}
