// Read the version tables of every ELF in a bundle directory, once per content (data/<sha256>
// holds each distinct file once). Files that are not ELF, or that the reader refuses, are skipped:
// a report describes a bundle, it does not validate it (verify does).
import { closeSync, readSync } from 'node:fs';
import * as path from 'node:path';

import { hasElfMagic, readElf } from '../elf';
import { openRegularFile } from '../util/regular-file';
import type { ElfVersions } from './glibc';

export interface ScannedFile {
  path: string;
  sha256: string;
}

function isElf(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openRegularFile(file); // a FIFO in a payload must not hang the report
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && hasElfMagic(head);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The ELF files among `files`, with what they need and whether they are glibc's own. */
export function scanElfs(bundleDir: string, files: readonly ScannedFile[]): ElfVersions[] {
  const byContent = new Map<string, ElfVersions | null>();
  const out: ElfVersions[] = [];
  for (const f of files) {
    let known = byContent.get(f.sha256);
    if (known === undefined) {
      known = readVersions(bundleDir, f);
      byContent.set(f.sha256, known);
    }
    if (known) out.push({ ...known, path: f.path });
  }
  return out;
}

function readVersions(bundleDir: string, f: ScannedFile): ElfVersions | null {
  // Bundles of format 1 stored content in data/ as well; format 2 has only the payload path.
  for (const candidate of [path.join(bundleDir, f.path), path.join(bundleDir, 'data', f.sha256)]) {
    if (!isElf(candidate)) continue;
    try {
      const info = readElf(candidate);
      return { path: f.path, needs: info.versionNeeds, isGlibc: info.versionDefs.some((v) => v.startsWith('GLIBC_2')) };
    } catch {
      return null;
    }
  }
  return null;
}
