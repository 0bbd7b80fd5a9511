// The report's data: a manifest.lock (and the ELF version tables read from the bundle) turned into
// what the page shows. Pure: the ELF scan and the image facts come in as arguments.
import { entriesByProgram, reasonInWords } from '../inspect/reasons';
import type { Manifest, ManifestFile } from '../package/manifest';
import { summarizeGlibc, type ElfVersions, type GlibcSummary } from './glibc';
import { collectedBy } from './reasons';

export const REPORT_FORMAT = 'sidebundle/report@1';

export interface ReportFile {
  path: string;
  size: number;
  /** payload, or runtime (launchers and the runner). */
  area: string;
  /** Entries this file serves (directly, or through the libraries that need it); [] for shared collections. */
  entries: string[];
  /** The heading it is counted under when grouped by how it was collected. */
  how: string;
  reasons: string[];
}

/** What is known of an image a root came from (layer sizes only when the caller has them). */
export interface ImageFacts {
  root: string;
  reference?: string;
  digest?: string;
  layerBytes?: number;
}

export interface ReportImage {
  root: string;
  source: string;
  payload: string;
  files: number;
  bytes: number;
  layerBytes?: number;
  /** layerBytes / bytes, when both are known. */
  ratio?: number;
}

export interface ReportData {
  format: typeof REPORT_FORMAT;
  name: string;
  generator: string;
  totals: { files: number; bytes: number; storedBytes: number; symlinks: number };
  entries: Array<{ name: string; kind: string; program: string; runMode: string; loader?: string }>;
  files: ReportFile[];
  excluded: Array<{ path: string; root: string; reason: string; impact?: string }>;
  missing: Array<{ name: string; root: string; chain: string[]; why?: string }>;
  glibc: GlibcSummary;
  images: ReportImage[];
  validation: { ok: boolean; issues: string[] };
}

export function buildReportData(manifest: Manifest, elfs: readonly ElfVersions[], images: readonly ImageFacts[] = []): ReportData {
  const shipped = manifest.files;
  const entriesOf = attributeEntries(manifest, shipped);
  const entryOf = entriesByProgram(manifest);
  const files: ReportFile[] = shipped.map((f) => ({
    path: f.path,
    size: f.size,
    area: 'payload',
    entries: entriesOf.get(f.path) ?? [],
    how: collectedBy(f.reasons),
    reasons: [...new Set(f.reasons.map((r) => reasonInWords(r, entryOf)))],
  }));
  for (const l of manifest.launchers) files.push({ path: l.path, size: l.size, area: 'runtime', entries: [], how: 'launchers and runtime', reasons: ['launcher or runtime file written by sidebundle'] });
  const stored = new Set<string>();
  let storedBytes = 0;
  for (const f of shipped) if (!stored.has(f.sha256)) (stored.add(f.sha256), (storedBytes += f.size));
  return {
    format: REPORT_FORMAT,
    name: manifest.name,
    generator: `${manifest.generator.name} ${manifest.generator.version}`,
    totals: { files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), storedBytes: storedBytes + manifest.launchers.reduce((n, l) => n + l.size, 0), symlinks: manifest.symlinks.length },
    entries: manifest.entries.map((e) => ({ name: e.name, kind: e.kind, program: e.program, runMode: e.runMode, ...(e.loader ? { loader: e.loader } : {}) })),
    files,
    excluded: manifest.excluded.map((e) => ({ path: e.path, root: e.root, reason: e.reason, ...(e.impact ? { impact: e.impact } : {}) })),
    missing: manifest.missing.map((m) => ({ name: m.name, root: m.root, chain: m.chain, ...(m.why ? { why: m.why } : {}) })),
    glibc: summarizeGlibc(elfs),
    images: imagesOf(manifest, shipped, images),
    validation: { ok: manifest.validation?.ok ?? true, issues: (manifest.validation?.issues ?? []).map((i) => i.message) },
  };
}

/** Which entries each file serves: the entries its reasons name, carried down DT_NEEDED and
 * PT_INTERP edges (a library needed by an entry's program serves that entry). */
function attributeEntries(manifest: Manifest, files: readonly ManifestFile[]): Map<string, string[]> {
  const payloads = manifest.roots.map((r) => r.payload);
  const byLogical = new Map<string, string[]>();
  for (const f of files) {
    for (const p of payloads) {
      if (f.path.startsWith(`${p}/`)) {
        const logical = f.path.slice(p.length);
        byLogical.set(logical, [...(byLogical.get(logical) ?? []), f.path]);
      }
    }
  }
  const entries = new Map<string, Set<string>>();
  const edges = new Map<string, string[]>(); // from file → files it brought in
  for (const f of files) {
    const own = new Set<string>();
    for (const r of f.reasons) {
      if ('entry' in r && typeof r.entry === 'string') own.add(r.entry);
      const from = r.kind === 'needed' ? r.by : r.kind === 'interpreter' || r.kind === 'script-interpreter' || r.kind === 'hwcaps-variant' ? r.of : undefined;
      for (const parent of from ? byLogical.get(from) ?? [] : []) edges.set(parent, [...(edges.get(parent) ?? []), f.path]);
    }
    entries.set(f.path, own);
  }
  // Breadth-first from each file that names an entry; every file is visited once per entry.
  const queue = [...entries].flatMap(([p, set]) => [...set].map((e) => [p, e] as const));
  for (let i = 0; i < queue.length; i++) {
    const [at, entry] = queue[i]!;
    for (const child of edges.get(at) ?? []) {
      const set = entries.get(child)!;
      if (!set.has(entry)) (set.add(entry), queue.push([child, entry]));
    }
  }
  return new Map([...entries].map(([p, set]) => [p, [...set].sort()]));
}

function imagesOf(manifest: Manifest, files: readonly ManifestFile[], facts: readonly ImageFacts[]): ReportImage[] {
  return manifest.roots
    .filter((r) => r.source !== undefined || facts.some((f) => f.root === r.root))
    .map((r) => {
      const mine = files.filter((f) => f.path.startsWith(`${r.payload}/`));
      const bytes = mine.reduce((n, f) => n + f.size, 0);
      const fact = facts.find((f) => f.root === r.root);
      const layerBytes = fact?.layerBytes;
      return {
        root: r.root,
        source: r.source ?? [fact?.reference, fact?.digest].filter(Boolean).join('@'),
        payload: r.payload,
        files: mine.length,
        bytes,
        ...(layerBytes !== undefined ? { layerBytes, ...(bytes > 0 ? { ratio: layerBytes / bytes } : {}) } : {}),
      };
    });
}
