// The digest memo's secret, <cache>/memo.key: 32 random bytes, readable by the cache's owner
// only, under which memo.bin is MACed (memo-table.ts).
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { errnoCode, SidebundleError } from '../errors';

/** The memo's secret (created once, readable by the cache's owner only). Written whole under a
 * temporary name and linked into place, so a run starting beside the one creating it never reads
 * it half-written (and takes it for damaged). */
export function memoKey(file: string, tmp: string): Buffer {
  if (!existsSync(file)) {
    const temporary = path.join(tmp, `memo.key.${process.pid}.${randomBytes(4).toString('hex')}`);
    writeFileSync(temporary, randomBytes(32), { flag: 'wx', mode: 0o600 });
    try {
      linkSync(temporary, file);
    } catch (error) {
      // No hard links on this file system: create it in place (the race above stays possible).
      if (errnoCode(error) !== 'EEXIST') writeKeyOnce(file);
    } finally {
      rmSync(temporary, { force: true });
    }
  }
  const key = readFileSync(file);
  if (key.length < 32) throw new SidebundleError('CACHE_DAMAGED', `${file} is not a sidebundle memo key`, { input: file, hint: `remove ${file} (the cache re-hashes files once)` });
  return key;
}

function writeKeyOnce(file: string): void {
  try {
    writeFileSync(file, randomBytes(32), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
}
