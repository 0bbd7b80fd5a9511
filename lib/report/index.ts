// `sidebundle report`: a bundle directory → one self-contained HTML file beside it (bundles are
// immutable and hashed, so the report never goes inside). Reads manifest.lock and the ELF files.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

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
  const { manifest, dir } = readManifest(bundleDir);
  const shipped = manifest.files;
  // Given a bare manifest.lock, the files are read next to it when they are there.
  const elfs = scanElfs(dir ?? path.dirname(bundleDir), shipped);
  return buildReportData(manifest, elfs, images);
}

export function writeReport(bundleDir: string, out = defaultReportPath(bundleDir), images: readonly ImageFacts[] = []): { path: string; data: ReportData; bytes: number } {
  const data = reportData(bundleDir, images);
  const html = renderReportHtml(data);
  writeFileSync(out, html);
  return { path: out, data, bytes: Buffer.byteLength(html) };
}
