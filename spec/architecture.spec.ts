// The folders of lib/ form a one-way graph that reads like the pipeline: a folder imports only
// from folders in lower layers (DESIGN.md, "Layout"). Read from the sources, no build needed.
// To see today's edges: SIDEBUNDLE_PRINT_EDGES=1 npx jest spec/architecture.spec.ts
import * as path from 'node:path';

import { describeEdges, folderCycles, folderEdges, readTree, upwardEdges, type FolderEdge } from './helpers/import-graph';

/** Bottom first. A folder may import from any layer below its own, never from its own layer's
 * other folders or from above. Top-level files count as folders of their own name. */
const LAYERS: string[][] = [
  ['errors', 'version'], //  lib/errors.ts, lib/version.ts: the error type, the package's own version
  ['model'], //             the versioned data contracts and the choices options offer
  ['util'], //              small helpers with no sidebundle knowledge
  ['native'], //            the native shim and the static binaries: found, built, loaded
  ['elf'], //               the paged ELF reader
  ['cache'], //             file-digest memo and the step cache
  ['image'], //             OCI sources: references, engines, registries, unpacked rootfs
  ['entries'], //           entry specs (host paths, image paths)
  ['config'], //            sidebundle.json and the option table
  ['policy'], //            what may go into a bundle: path rules, secrets, the screen
  ['resolve'], //           ld.so's search rules inside a root → ResolvedClosure
  ['trace'], //             the tracer and the agent (host, root, container) → TraceReport
  ['collect'], //           what the trace did not take: interpreters' libraries, plugin dirs, data
  ['merge'], //             closures + traces → MergedPlan
  ['validate'], //          every ELF of a plan resolves inside the bundle
  ['package'], //           MergedPlan → bundle directory, launchers, manifest.lock, single file
  ['inspect'], //           reading a written bundle: verify, diff
  ['report', 'ship', 'doctor'], // what comes after a bundle: its report, its image, its diagnosis
  ['steps'], //             the cached steps and the per-root groups (StepContext)
  ['bundle'], //            lib/bundle.ts: the steps composed
  ['cli', 'index'], //      the command, and lib/index.ts, the programmatic API
];

const lib = path.resolve(__dirname, '../lib');

function check(files: Map<string, string>) {
  const { edges, unresolved, packages } = folderEdges(files);
  const { upward, undeclared } = upwardEdges(edges, LAYERS);
  return { edges, unresolved, packages, upward, undeclared, cycles: folderCycles(edges) };
}

describe('the folders of lib/', () => {
  const files = readTree(lib);
  const result = check(files);

  if (process.env.SIDEBUNDLE_PRINT_EDGES) {
    const by = new Map<string, FolderEdge[]>();
    for (const e of result.edges) by.set(`${e.from} → ${e.to}`, [...(by.get(`${e.from} → ${e.to}`) ?? []), e]);
    console.log([...by].sort().map(([k, list]) => `${k}\n  ${describeEdges(list).split('\n').join('\n  ')}`).join('\n'));
  }

  test('the reader sees the imports it must check (a parser that finds nothing passes anything)', () => {
    expect(files.size).toBeGreaterThan(100);
    expect(result.edges.length).toBeGreaterThan(200);
    expect(result.edges).toContainEqual(expect.objectContaining({ file: 'steps/resolve.ts', from: 'steps', to: 'resolve' }));
    expect(result.unresolved).toEqual([]);
  });

  test('every folder has a declared layer', () => {
    expect(result.undeclared).toEqual([]);
  });

  test('imports point down the layers, never up or sideways', () => {
    expect(describeEdges(result.upward)).toBe('');
  });

  test('no two folders import each other, directly or around a loop', () => {
    expect(result.cycles).toEqual([]);
  });

  test('nothing in lib/ imports Nx (only executors/, generators/ and plugins/ do)', () => {
    expect(describeEdges(result.packages.filter((e) => e.to === 'nx' || e.to.startsWith('nx/') || e.to.startsWith('@nx/')))).toBe('');
  });
});

describe('the checker itself', () => {
  const synthetic = (sources: Record<string, string>) => check(new Map(Object.entries(sources)));

  test('flags an upward import, naming the file, the line and the specifier', () => {
    const result = synthetic({
      'model/plan.ts': "export type Plan = {};\nimport type { TraceRequest } from '../steps/trace';\n",
      'steps/trace.ts': "import type { Plan } from '../model/plan';\nexport interface TraceRequest { plan: Plan }\n",
    });
    expect(describeEdges(result.upward)).toBe("lib/model/plan.ts:2 imports '../steps/trace' (model → steps)");
    expect(result.cycles).toEqual([['model', 'steps']]);
  });

  test('flags a sideways import within one layer, and require() and import() as well as import', () => {
    const result = synthetic({
      'report/a.ts': "const b = require('../ship/b');\n",
      'ship/b.ts': "export async function f() { return import('../doctor/c.js'); }\n",
      'doctor/c.ts': 'export {};\n',
    });
    expect(result.upward.map((e) => `${e.from}→${e.to}`)).toEqual(['report→ship', 'ship→doctor']);
  });

  test('finds a loop through three folders and a folder that no layer declares', () => {
    const result = synthetic({
      'elf/a.ts': "export * from '../gadgets/b';\n",
      'gadgets/b.ts': "export * from '../trace/c';\n",
      'trace/c.ts': "import '../elf/a';\n",
    });
    expect(result.cycles).toEqual([['elf', 'gadgets', 'trace']]);
    expect(result.undeclared).toEqual(['gadgets']);
  });

  test('passes a downward import, and one into a folder through its index', () => {
    const result = synthetic({
      'steps/a.ts': "import { readElf } from '../elf';\nimport type { X } from '../model/x.js';\n",
      'elf/index.ts': 'export {};\n',
      'model/x.ts': 'export type X = 1;\n',
    });
    expect(result.edges).toHaveLength(2);
    expect(result.upward).toEqual([]);
    expect(result.cycles).toEqual([]);
  });
});
