// A file replaced whole: a reader (another process, the next run after a crash) sees the old
// content or the new, never a part of either.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** A new name beside `file`, hidden and this process's own, to write it under before the rename. */
export function temporaryBeside(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Write `data` to a temporaryBeside(file) (made new: never through a link planted there), then
 * rename it over `file`, which replaces whatever is there rather than writing through it. The
 * partial copy is removed when the write fails, and the write's error is the one thrown. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = temporaryBeside(file);
  try {
    writeFileSync(tmp, data, { flag: 'wx' });
    renameSync(tmp, file);
  } catch (error) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was made (a file above it, no such directory)
    }
    throw error;
  }
}
