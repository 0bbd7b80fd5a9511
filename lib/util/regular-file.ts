// Files read as files (a manifest.lock, a config, a lock, a .run, a file to hash, an image blob):
// opened without blocking, so a FIFO or a device at that path is refused at once instead of
// hanging the command in open() or feeding it without end; a regular file's reads ignore
// O_NONBLOCK (and O_NOCTTY keeps a terminal from becoming the controlling one).
import { type BigIntStats, closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';

/** What a path that is no regular file is, in words: "a FIFO", "a directory". */
export function kindOf(stats: Stats | BigIntStats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a file';
}

/** The error for a path that should be a regular file and is `stats` (EINVAL, naming it). */
export function notAFile(file: string, stats?: Stats | BigIntStats): NodeJS.ErrnoException {
  const what = stats === undefined ? 'not a regular file (a FIFO, socket or device where a file was found)' : `${kindOf(stats)}, not a regular file`;
  return Object.assign(new Error(`${file} is ${what}`), { code: 'EINVAL', path: file });
}

/** Open `file` for reading if it is a regular file: the descriptor and its state (fstat of
 * what was opened, whatever the path names now); otherwise notAFile's error. */
export function openRegular(file: string): { fd: number; stats: BigIntStats } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  let stats: BigIntStats;
  try {
    stats = fstatSync(fd, { bigint: true });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  if (stats.isFile()) return { fd, stats };
  closeSync(fd);
  throw notAFile(file, stats);
}

/** openRegular's descriptor alone. */
export function openRegularFile(file: string): number {
  return openRegular(file).fd;
}

/** The bytes of the regular file `file` (errors as openRegular's, or the read's). */
export function readRegularBytes(file: string): Buffer {
  const fd = openRegularFile(file);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The text of the regular file `file`. */
export function readRegularFile(file: string): string {
  return readRegularBytes(file).toString('utf8');
}
