// One digest for a whole directory tree: every entry's relative path, type, mode, mtime, link
// target and content hash, in sorted order. Two bundles with the same digest are identical as
// far as any program can tell (hard-link structure aside).
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

export function treeDigest(dir: string): string {
  const hash = createHash('sha256');
  const visit = (relative: string) => {
    const full = path.join(dir, relative);
    const stats = lstatSync(full);
    const mode = (stats.mode & 0o7777).toString(8);
    const mtime = Math.floor(stats.mtimeMs / 1000);
    if (stats.isSymbolicLink()) {
      hash.update(`L ${relative} ${readlinkSync(full)}\n`);
    } else if (stats.isDirectory()) {
      hash.update(`D ${relative} ${mode} ${mtime}\n`);
      for (const name of readdirSync(full).sort()) visit(relative === '' ? name : `${relative}/${name}`);
    } else {
      const content = createHash('sha256').update(readFileSync(full)).digest('hex');
      hash.update(`F ${relative} ${mode} ${mtime} ${content}\n`);
    }
  };
  visit('');
  return hash.digest('hex');
}
