// Files the user names as files (a manifest.lock, a config, a lock, a .run): opened without
// blocking, so a FIFO or a device at that path is refused at once instead of hanging the command
// in open() or feeding it without end; a regular file's reads ignore O_NONBLOCK.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/** Open `file` for reading if it is a regular file; otherwise an EINVAL error naming it. */
export function openRegularFile(file: string): number {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  if (fstatSync(fd).isFile()) return fd;
  closeSync(fd);
  throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EINVAL', path: file });
}

/** The text of the regular file `file` (errors as openRegularFile's, or the read's). */
export function readRegularFile(file: string): string {
  const fd = openRegularFile(file);
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
