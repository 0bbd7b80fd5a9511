// The folders of lib/ form a one-way graph that reads like the pipeline: a folder imports only
// from folders in lower layers (DESIGN.md, "Layout"). Read from the sources, no build needed.
// To see today's edges: SIDEBUNDLE_PRINT_EDGES=1 npx jest spec/architecture.spec.ts
import * as path from 'node:path';

import { describeEdges, folderCycles, folderEdges, readTree, upwardEdges, type FolderEdge } from './helpers/import-graph';
import { functionSizes, lineCount } from './helpers/sizes';

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

/** A file longer than this is several files waiting for names (STYLE.md: a function fits on a
 * screen, a module holds one idea). */
const MAX_FILE_LINES = 300;
/** A function longer than this needs `Long because: <reason>` in its header comment. */
const MAX_FUNCTION_LINES = 80;

function oversized(files: Map<string, string>) {
  const longFiles = [...files].filter(([, source]) => lineCount(source) > MAX_FILE_LINES).map(([file, source]) => `lib/${file}: ${lineCount(source)} lines`);
  const longFunctions = functionSizes(files)
    .filter((f) => f.lines > MAX_FUNCTION_LINES && f.longBecause === undefined)
    .map((f) => `lib/${f.file}:${f.line} ${f.name}: ${f.lines} lines`);
  return { longFiles, longFunctions };
}

describe('the size of lib/', () => {
  const files = readTree(lib);
  const sizes = functionSizes(files);
  const result = oversized(files);

  test('the measure sees the functions it must check (a parser that finds none passes anything)', () => {
    expect(sizes.length).toBeGreaterThan(500);
    expect(sizes).toContainEqual(expect.objectContaining({ file: 'steps/cached.ts', name: 'cachedStep' }));
    expect(Math.max(...sizes.map((f) => f.lines))).toBeGreaterThan(40);
  });

  test(`no file is over ${MAX_FILE_LINES} lines`, () => {
    expect(result.longFiles).toEqual([]);
  });

  test(`no function is over ${MAX_FUNCTION_LINES} lines without "Long because:" in its header`, () => {
    expect(result.longFunctions).toEqual([]);
  });
});

describe('the size checker itself', () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `  const x${i} = ${i};`).join('\n');

  test('flags a long file and a long function by name, in a class and in a const arrow', () => {
    const source = [
      `export function long(): void {\n${body(79)}\n}`,
      `class A {\n  method(): void {\n${body(79)}\n  }\n}`,
      `export const arrow = () => {\n${body(79)}\n};`,
      `export function short(): void {\n${body(78)}\n}`,
      '',
    ].join('\n');
    const result = oversized(new Map([['x/long.ts', source]]));
    expect(result.longFiles).toEqual([`lib/x/long.ts: ${lineCount(source)} lines`]);
    expect(result.longFunctions).toEqual(['lib/x/long.ts:1 long: 81 lines', 'lib/x/long.ts:83 method: 81 lines', 'lib/x/long.ts:165 arrow: 81 lines']);
  });

  test('passes a long function whose header gives a reason, on the function or on what holds it', () => {
    const source = [
      `/** Parses a table.\n * Long because: one switch over every opcode reads best whole. */\nexport function parse(): void {\n${body(90)}\n}`,
      `// Long because: the steps share a dozen locals.\nexport const run = async () => {\n${body(90)}\n};`,
      `// Long, but no reason given.\nexport function other(): void {\n${body(90)}\n}`,
    ].join('\n');
    const sizes = functionSizes(new Map([['y.ts', source]]));
    expect(sizes.map((f) => [f.name, f.lines, f.longBecause])).toEqual([
      ['parse', 92, 'one switch over every opcode reads best whole.'],
      ['run', 92, 'the steps share a dozen locals.'],
      ['other', 92, undefined],
    ]);
    expect(oversized(new Map([['y.ts', source]])).longFunctions).toEqual(['lib/y.ts:189 other: 92 lines']);
  });
});
