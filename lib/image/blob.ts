// Blob streams: verified against their descriptor (sha256 and size, checked as the bytes pass,
// never by holding a layer in memory) and decompressed by what their first bytes say: gzip
// (zlib), zstd (Node 20's zlib has none: the `zstd` program is used as a stream filter) or a
// plain tar.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import { SidebundleError } from '../errors';

/** A pass-through that fails the stream if the bytes do not hash to `digest` or are not `size`. */
export function verifying(digest: string, size: number | undefined, label: string): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (size !== undefined && seen > size) {
        callback(mismatch(label, `it is longer than the ${size} bytes its descriptor says`));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = `sha256:${hash.digest('hex')}`;
      if (size !== undefined && seen !== size) callback(mismatch(label, `it is ${seen} bytes, its descriptor says ${size}`));
      else if (actual !== digest) callback(mismatch(label, `its content hashes to ${actual}, not ${digest}`));
      else callback();
    },
  });
}

function mismatch(label: string, why: string): SidebundleError {
  return new SidebundleError('IMAGE_DIGEST_MISMATCH', `${label} is corrupt: ${why}`, {
    input: label,
    hint: 'the image data was damaged or tampered with; pull it again from a trusted source',
  });
}

/** The first `n` bytes of a stream, and a stream of all of it (head included). */
async function peek(input: Readable, n: number): Promise<[Buffer, Readable]> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const { value, done } = await iterator.next();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  const head = Buffer.concat(chunks);
  const whole = Readable.from((async function* () {
    if (head.length > 0) yield head;
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) return;
      yield value;
    }
  })());
  return [head, whole];
}

/** Decompress by magic number: gzip, zstd, or nothing. */
export async function decompressed(input: Readable, label: string): Promise<Readable> {
  const [head, whole] = await peek(input, 4);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const out = new PassThrough();
    pipeline(whole, createGunzip(), out).catch((error: unknown) => out.destroy(error as Error));
    return out;
  }
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    const child = spawn('zstd', ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = new PassThrough();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (error) =>
      out.destroy(new SidebundleError('IMAGE_ZSTD_UNAVAILABLE', `${label} is zstd-compressed and the zstd program could not run: ${error.message}`, {
        input: label,
        hint: 'install zstd (apt-get install zstd)',
      })));
    child.on('close', (code) => {
      if (code === 0) out.end();
      else out.destroy(new SidebundleError('IMAGE_BAD_LAYER', `${label}: zstd failed: ${stderr.trim() || `exit ${code}`}`, { input: label }));
    });
    pipeline(whole, child.stdin).catch((error: unknown) => out.destroy(error as Error));
    child.stdout.pipe(out, { end: false }); // ended when zstd has exited, and only if it succeeded
    return out;
  }
  return whole;
}
