// Content of a directory tree (paths, types, modes, link targets, file bytes) without times:
// what a restore from Nx's cache must reproduce.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

export function contentDigest(dir: string): string {
  const hash = createHash('sha256');
  const visit = (relative: string) => {
    const full = path.join(dir, relative);
    const stats = lstatSync(full);
    if (stats.isSymbolicLink()) hash.update(`L ${relative} ${readlinkSync(full)}\n`);
    else if (stats.isDirectory()) {
      hash.update(`D ${relative}\n`);
      for (const name of readdirSync(full).sort()) visit(relative === '' ? name : `${relative}/${name}`);
    } else {
      hash.update(`F ${relative} ${(stats.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(full)).digest('hex')}\n`);
    }
  };
  visit('');
  return hash.digest('hex');
}
