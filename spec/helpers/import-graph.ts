// The folders of lib/ as a graph: every relative import (import, export … from, require(),
// import()) read with TypeScript's own pre-processor, mapped from file to folder, and checked
// against a declared order of layers. Pure over a map of file → source, so a spec can feed it
// a synthetic tree and see it fail.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import * as ts from 'typescript';

/** One import statement between two folders of lib/. */
export interface FolderEdge {
  from: string;
  to: string;
  /** The importing file, relative to lib/. */
  file: string;
  line: number;
  specifier: string;
}

/** Every .ts file under `dir`, relative to it (posix separators), with its source. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (sub: string): void => {
    for (const entry of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) files.set(rel, readFileSync(path.join(dir, rel), 'utf8'));
    }
  };
  walk('');
  return files;
}

/** The folder a file of lib/ belongs to: its first directory, or its own name for a file at the
 * top (lib/bundle.ts is "bundle", lib/errors.ts is "errors"). */
export function folderOf(file: string): string {
  const [first, ...rest] = file.split('/');
  return rest.length > 0 ? first! : first!.replace(/\.ts$/, '');
}

/** The file a relative specifier names (x, x.js, x.ts or x/index.ts), relative to lib/. */
function target(files: Map<string, string>, from: string, specifier: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)).replace(/\.js$/, '');
  return [`${base}.ts`, `${base}/index.ts`, base].find((candidate) => files.has(candidate)) ?? (base.startsWith('..') ? base : undefined);
}

/** Imports that leave their folder, and relative imports that name no file of lib/ (`unresolved`). */
export function folderEdges(files: Map<string, string>): { edges: FolderEdge[]; unresolved: FolderEdge[]; packages: FolderEdge[] } {
  const edges: FolderEdge[] = [];
  const unresolved: FolderEdge[] = [];
  const packages: FolderEdge[] = [];
  for (const [file, source] of files) {
    const lineOf = (pos: number) => source.slice(0, pos).split('\n').length;
    for (const ref of ts.preProcessFile(source, true, true).importedFiles) {
      const from = folderOf(file);
      const at = { file, line: lineOf(ref.pos), specifier: ref.fileName };
      if (!ref.fileName.startsWith('.')) {
        packages.push({ from, to: ref.fileName, ...at });
        continue;
      }
      const to = target(files, file, ref.fileName);
      if (to === undefined || to.startsWith('..')) {
        unresolved.push({ from, to: to ?? '?', ...at });
        continue;
      }
      if (folderOf(to) !== from) edges.push({ from, to: folderOf(to), ...at });
    }
  }
  return { edges, unresolved, packages };
}

/** Edges that do not point to a strictly lower layer (`layers` bottom first), and folders that
 * no layer declares. */
export function upwardEdges(edges: FolderEdge[], layers: string[][]): { upward: FolderEdge[]; undeclared: string[] } {
  const level = new Map<string, number>();
  layers.forEach((folders, i) => folders.forEach((f) => level.set(f, i)));
  const undeclared = new Set<string>();
  const upward: FolderEdge[] = [];
  for (const edge of edges) {
    const from = level.get(edge.from);
    const to = level.get(edge.to);
    if (from === undefined) undeclared.add(edge.from);
    if (to === undefined) undeclared.add(edge.to);
    if (from !== undefined && to !== undefined && to >= from) upward.push(edge);
  }
  return { upward, undeclared: [...undeclared].sort() };
}

/** Groups of folders that import each other, directly or around a loop (Tarjan's SCCs of size > 1). */
export function folderCycles(edges: FolderEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
    if (!next.has(e.to)) next.set(e.to, new Set());
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      group.push(w);
    } while (w !== v);
    if (group.length > 1) cycles.push(group.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** "lib/FILE:LINE imports 'SPEC' (FROM → TO)", one line per edge. */
export function describeEdges(edges: FolderEdge[]): string {
  return edges.map((e) => `lib/${e.file}:${e.line} imports '${e.specifier}' (${e.from} → ${e.to})`).join('\n');
}
