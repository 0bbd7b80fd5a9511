// Blob streams: verified against their descriptor (sha256 and size, checked as the bytes pass,
// never by holding a layer in memory; a layer is checked whole before a byte of it is applied)
// and decompressed by what their first bytes say: gzip (zlib), zstd (Node 20's zlib has none:
// the `zstd` program is used as a stream filter) or a plain tar.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, readFileSync } from 'node:fs';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import { SidebundleError } from '../errors';
import { openRegular } from '../util/regular-file';

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
      callback(digestError(`sha256:${hash.digest('hex')}`, seen, digest, size, label));
    },
  });
}

/** Throws unless `bytes` hash to `digest` (and are `size` long). */
export function verifyBuffer(bytes: Buffer, digest: string, size: number | undefined, label: string): Buffer {
  const error = digestError(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes.length, digest, size, label);
  if (error) throw error;
  return bytes;
}

function digestError(actual: string, seen: number, digest: string, size: number | undefined, label: string): SidebundleError | null {
  if (size !== undefined && seen !== size) return mismatch(label, `it is ${seen} bytes, its descriptor says ${size}`);
  if (actual !== digest) return mismatch(label, `its content hashes to ${actual}, not ${digest}`);
  return null;
}

function mismatch(label: string, why: string): SidebundleError {
  return new SidebundleError('IMAGE_DIGEST_MISMATCH', `${label} is corrupt: ${why}`, {
    input: label,
    hint: 'the image data was damaged or tampered with; pull it again from a trusted source',
  });
}

/** A verified blob: its bytes, and how many there are (the compressed size of a layer). */
export interface VerifiedBlob {
  stream: Readable;
  bytes: number;
}

/**
 * A blob file, hashed whole before a byte of it is handed out, then streamed from the same
 * descriptor (and verified again on the way, so a change in between fails the stream). Memory
 * stays bounded; the price is a second read of the compressed bytes.
 */
export async function openVerifiedFile(file: string, digest: string, size: number | undefined, label: string): Promise<VerifiedBlob> {
  const { fd, size: bytes } = openRegularFile(file, label);
  try {
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await pipeline(createReadStream('', { fd, start: 0, autoClose: false }), verifying(digest, size, label), sink);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const stream = verifying(digest, size, label);
  pipeline(createReadStream('', { fd, start: 0 }), stream).catch(() => undefined); // errors surface on `stream`
  return { stream, bytes };
}

/** A whole small file (an index.json, a manifest), refused if it is not a regular file. */
export function readRegularFile(file: string, label: string): Buffer {
  const { fd } = openRegularFile(file, label);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A file descriptor for reading `file`, opened without waiting: opening a FIFO for reading
 * blocks until a writer comes (signals included, the open runs on a libuv thread), and a device
 * never ends, so anything but a regular file is refused.
 */
export function openRegularFile(file: string, label: string): { fd: number; size: number } {
  try {
    const { fd, stats } = openRegular(file);
    return { fd, size: Number(stats.size) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
    throw new SidebundleError('IMAGE_NOT_REGULAR_FILE', `${label}: ${(error as Error).message}`, {
      input: file,
      kind: 'input',
      hint: 'image blobs, index.json and image archives are read as plain files; replace it with the file it stands for',
    });
  }
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
    // A reader that gives up (a layer over its limit) must not leave zstd blocked on a full pipe.
    out.on('close', () => child.exitCode === null && child.kill());
    child.stdout.pipe(out, { end: false }); // ended when zstd has exited, and only if it succeeded
    return out;
  }
  return whole;
}
