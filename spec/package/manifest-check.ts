// What a published bundle must be, read back from disk: every file of manifest.lock holds the
// bytes and mode the manifest says, and nothing half-written lies beside the bundle.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

export interface ManifestFile {
  path: string;
  sha256: string;
  mode: string;
}

export function manifestFiles(bundleDir: string): ManifestFile[] {
  const manifest = JSON.parse(readFileSync(path.join(bundleDir, 'manifest.lock'), 'utf8'));
  return manifest.files;
}

/** Files whose bytes or mode differ from manifest.lock (empty when the bundle is intact). */
export function mismatches(bundleDir: string): string[] {
  const bad: string[] = [];
  for (const file of manifestFiles(bundleDir)) {
    const at = path.join(bundleDir, file.path);
    const sha = createHash('sha256').update(readFileSync(at)).digest('hex');
    if (sha !== file.sha256) bad.push(`${file.path}: sha256 ${sha}, manifest ${file.sha256}`);
    const mode = (statSync(at).mode & 0o7777).toString(8).padStart(4, '0');
    if (mode !== file.mode) bad.push(`${file.path}: mode ${mode}, manifest ${file.mode}`);
  }
  return bad;
}

/** Hidden leftovers of runs (staging, aside, lock, temporary .run) in an out dir. */
export function leftovers(outDir: string): string[] {
  return existsSync(outDir) ? readdirSync(outDir).filter((n) => n.startsWith('.')) : [];
}
