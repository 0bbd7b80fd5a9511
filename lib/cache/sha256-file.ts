// sha256 of a file's bytes, streamed: never the whole file in memory. Shared by the digest memo
// (which hashes a file once per state) and the copies (which hash what they write).
import { createHash } from 'node:crypto';
import { type BigIntStats, closeSync, read, readSync } from 'node:fs';
import { type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';

import { openRegular } from '../util/regular-file';

export interface FileDigest {
  sha256: string;
  size: number;
}

/** A digest with the state of the file it was made from (fstat of the descriptor read). */
export interface OpenedDigest extends FileDigest {
  stats: BigIntStats;
}

const CHUNK = 1024 * 1024;
/** Read buffers kept for the next hashes: as many as hash at once (the callers' limits are 8 and
 * 4), never more than this. A fresh 1 MiB buffer per file made V8 count one more MiB of external
 * memory per file hashed, and a 40-file bundle paid a full mark-compact (~15-20 ms) to reclaim
 * them; reused, a run holds a few MiB and collects none of them. */
const MAX_SPARE = 8;
const spare: Buffer[] = [];
const readAsync = promisify(read);

/**
 * Stream a file through sha256 in 1 MiB reads into one reused buffer: never the whole file in
 * memory, and no garbage per chunk (a read stream's fresh buffers cost more in GC than hashing).
 * The open, the first read and the read that finds the end are synchronous: most files (a
 * bundle's libraries, scripts) end within the first chunk, and a trip through the thread pool
 * per call cost more than the call (40 files of jq+curl+git, 24 MiB: CPU 25-27 ms against 32-39
 * ms all through promises); the reads between, of large files, go through the pool. Only a
 * regular file is read.
 */
export async function sha256File(hostPath: string): Promise<FileDigest> {
  const { sha256, size } = await sha256Opened(hostPath);
  return { sha256, size };
}

/** sha256File, with the state of the file it opened and read (whatever the path names now). */
export async function sha256Opened(hostPath: string): Promise<OpenedDigest> {
  const { fd, stats } = openRegular(hostPath);
  const buffer = spare.pop() ?? Buffer.allocUnsafe(CHUNK);
  try {
    const hash = createHash('sha256');
    let size = 0;
    let bytesRead = readSync(fd, buffer, 0, CHUNK, null);
    while (bytesRead > 0) {
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
      bytesRead = bytesRead < CHUNK ? readSync(fd, buffer, 0, CHUNK, null) : (await readAsync(fd, buffer, 0, CHUNK, null)).bytesRead;
    }
    return { sha256: hash.digest('hex'), size, stats };
  } finally {
    if (spare.length < MAX_SPARE) spare.push(buffer);
    closeSync(fd);
  }
}

/** Hash what `handle` reads from its position to the end, handing each chunk to `onChunk` (the
 * chunk is only valid until the promise `onChunk` returns settles: its buffer is reused). */
export async function hashStream(handle: FileHandle, onChunk?: (chunk: Buffer) => Promise<void>): Promise<FileDigest> {
  const hash = createHash('sha256');
  const buffer = spare.pop() ?? Buffer.allocUnsafe(CHUNK);
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      if (onChunk) await onChunk(chunk);
      size += bytesRead;
    }
  } finally {
    // Back only once no read into it or write from it is pending (every await above settled,
    // also on a failure: a rejected read or write has finished with the buffer).
    if (spare.length < MAX_SPARE) spare.push(buffer);
  }
  return { sha256: hash.digest('hex'), size };
}
