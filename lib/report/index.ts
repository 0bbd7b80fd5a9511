// `sidebundle report`: a bundle directory → one self-contained HTML file beside it (bundles are
// immutable and hashed, so the report never goes inside). Reads manifest.lock and the ELF files.
import { lstatSync, type Stats } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { outputError } from '../package/output-errors';
import { makeDir } from '../util/make-dir';
import { physicalPath } from '../util/physical-path';
import { kindOf } from '../util/regular-file';
import { writeFileAtomic } from '../util/write-atomic';
import { readManifest } from '../inspect/manifest-files';
import { buildReportData, type ImageFacts, type ReportData } from './data';
import { scanElfs } from './elf-scan';
import { renderReportHtml } from './html';

/** Where the report of bundle DIR goes by default: OUT-DIR/NAME.report.html, beside the bundle. */
export function defaultReportPath(bundleDir: string): string {
  const dir = path.resolve(bundleDir);
  return path.join(path.dirname(dir), `${path.basename(dir)}.report.html`);
}

export function reportData(bundleDir: string, images: readonly ImageFacts[] = []): ReportData {
  return read(bundleDir, images).data;
}

function read(bundleDir: string, images: readonly ImageFacts[]): { data: ReportData; manifestFile: string } {
  const { manifest, dir, file } = readManifest(bundleDir);
  const shipped = manifest.files;
  // Given a bare manifest.lock, the files are read next to it when they are there.
  const elfs = scanElfs(dir ?? path.dirname(bundleDir), shipped);
  return { data: buildReportData(manifest, elfs, images), manifestFile: file };
}

/** Write the report to `out`: never inside the bundle (its files are hashed, and hard links
 * share them with the step cache's store), and through a new file renamed into place, so a
 * link at `out` is replaced rather than written through. */
export function writeReport(bundleDir: string, out = defaultReportPath(bundleDir), images: readonly ImageFacts[] = []): { path: string; data: ReportData; bytes: number } {
  const { data, manifestFile } = read(bundleDir, images);
  const bundle = physicalPath(path.dirname(manifestFile));
  const target = path.join(physicalPath(path.dirname(path.resolve(out))), path.basename(out));
  if (target === bundle || target.startsWith(`${bundle}/`)) {
    throw new SidebundleError('REPORT_INSIDE_BUNDLE', `${out} is inside the bundle ${bundle}`, {
      input: out,
      kind: 'input',
      hint: 'a bundle is never written to (its files are hashed in manifest.lock): give --out a path outside it, or leave it out for NAME.report.html beside the bundle',
    });
  }
  const there = lstatOrNothing(target);
  if (there !== undefined && !there.isFile() && !there.isSymbolicLink()) {
    // Renamed over, a device (/dev/null) or a FIFO would be gone: a report replaces only a file.
    throw new SidebundleError('REPORT_OUT_NOT_A_FILE', `${out} is ${kindOf(there)}, not a file to replace`, {
      input: out,
      kind: 'input',
      hint: 'give --out the path of a new .html file, or of a regular file to replace',
    });
  }
  const html = renderReportHtml(data);
  try {
    makeDir(path.dirname(target)); // as every output's directory is made
    writeFileAtomic(target, html);
  } catch (error) {
    throw outputError(error, path.dirname(target), `cannot write the report ${out}`, '--out path');
  }
  return { path: out, data, bytes: Buffer.byteLength(html) };
}

/** What is at `p` (a file above it, ENOTDIR: nothing; the write names that). */
function lstatOrNothing(p: string): Stats | undefined {
  try {
    return lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
