// sha256 of a file's bytes, streamed: never the whole file in memory. Shared by the digest memo
// (which hashes a file once per state) and the copies (which hash what they write).
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

export interface FileDigest {
  sha256: string;
  size: number;
}

const CHUNK = 1024 * 1024;

/**
 * Stream a file through sha256 in 1 MiB reads into one reused buffer: never the whole file in
 * memory, and no garbage per chunk (a read stream's fresh buffers cost more in GC than hashing).
 */
export async function sha256File(hostPath: string): Promise<FileDigest> {
  const handle = await open(hostPath, 'r');
  try {
    return await hashStream(handle);
  } finally {
    await handle.close();
  }
}

/** Hash what `handle` reads from its position to the end, handing each chunk to `onChunk`. */
export async function hashStream(handle: FileHandle, onChunk?: (chunk: Buffer) => Promise<void>): Promise<FileDigest> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    hash.update(chunk);
    if (onChunk) await onChunk(chunk);
    size += bytesRead;
  }
  return { sha256: hash.digest('hex'), size };
}
