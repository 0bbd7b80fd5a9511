// mkdir -p that reports why it failed: Node's recursive mkdir says ENOENT where the real reason
// is a read-only file system (EROFS) or a permission (EACCES); one plain mkdir gets it right.
import { mkdirSync } from 'node:fs';

import { errnoCode } from '../errors';

export function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    mkdirSync(dir); // throws the real reason (or, with the parent there after all, succeeds)
  }
}
