// A path with its symbolic links resolved as far as it exists, the rest appended: where a write
// to it would land, for checks made before the write (is it inside a bundle?).
import { realpathSync } from 'node:fs';
import * as path from 'node:path';

export function physicalPath(p: string): string {
  const absolute = path.resolve(p);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = path.dirname(absolute);
    return parent === absolute ? absolute : path.join(physicalPath(parent), path.basename(absolute));
  }
}

/** Whether `p` is `dir` or lies below it, links resolved. */
export function within(p: string, dir: string): boolean {
  const at = physicalPath(p);
  const top = physicalPath(dir);
  return at === top || at.startsWith(`${top}/`);
}
