// The entry of a Node app project, for `nx g sidebundle:configuration app` without --entries: the
// main file its build target writes (@nx/esbuild, @nx/webpack, @nx/rspack, @nx/node's webpack,
// @nx/js:tsc and :swc, from their outputPath and main options), else the file its package.json
// names in `bin` or `main`. The plugin sees the entry in the build's output and makes resolve
// depend on that build; a .js entry without #! is run by node.
import { joinPathFragments, normalizePath, readJson, type ProjectConfiguration, type TargetConfiguration, type Tree } from '@nx/devkit';
import * as path from 'node:path';

/** Executors that bundle `main` into outputPath/outputFileName (default main.js). */
const BUNDLERS = new Set(['@nx/webpack:webpack', '@nx/rspack:rspack', '@nx/node:webpack', '@nx/node:build']);
/** Executors that compile each source to outputPath at its place under rootDir (default the
 * project root): src/main.ts → outputPath/src/main.js. */
const COMPILERS = new Set(['@nx/js:tsc', '@nx/js:swc']);
const ESBUILD = '@nx/esbuild:esbuild';

export interface NodeAppEntry {
  /** The main file, relative to the workspace root. */
  file: string;
  /** Where it was found, for the generator's message. */
  from: string;
}

/** The Node app a project builds or declares, or undefined when it is none. */
export function nodeAppEntryOf(tree: Tree, project: ProjectConfiguration, buildTarget = 'build'): NodeAppEntry | undefined {
  const build = project.targets?.[buildTarget];
  const built = build ? buildOutputMain(build, project.root) : undefined;
  if (built) return { file: built, from: `the ${buildTarget} target (${build!.executor})` };
  const manifestFile = joinPathFragments(project.root, 'package.json');
  if (!tree.exists(manifestFile)) return undefined;
  const manifest = readJson<{ name?: string; bin?: string | Record<string, string>; main?: string }>(tree, manifestFile);
  const bin = typeof manifest.bin === 'string' ? manifest.bin : binNamed(manifest.bin, manifest.name);
  if (bin !== undefined) return { file: joinPathFragments(project.root, bin), from: `"bin" of ${manifestFile}` };
  if (typeof manifest.main === 'string') return { file: joinPathFragments(project.root, manifest.main), from: `"main" of ${manifestFile}` };
  return undefined;
}

/** The main file a build target writes, relative to the workspace root. */
export function buildOutputMain(target: TargetConfiguration, projectRoot: string): string | undefined {
  const options = (target.options ?? {}) as { outputPath?: unknown; main?: unknown; outputFileName?: unknown; rootDir?: unknown };
  if (typeof options.outputPath !== 'string' || typeof options.main !== 'string') return undefined;
  const outputPath = options.outputPath.replace(/\{projectRoot\}/g, projectRoot).replace(/^\{workspaceRoot\}\/?/, '');
  const js = (file: string) => file.replace(/\.[cm]?[jt]sx?$/, '.js');
  if (target.executor === ESBUILD || BUNDLERS.has(target.executor ?? '')) {
    const name = typeof options.outputFileName === 'string' ? options.outputFileName : target.executor === ESBUILD ? js(path.posix.basename(options.main)) : 'main.js';
    return joinPathFragments(outputPath, name);
  }
  if (COMPILERS.has(target.executor ?? '')) {
    const rootDir = typeof options.rootDir === 'string' ? options.rootDir : projectRoot;
    return joinPathFragments(outputPath, js(normalizePath(path.posix.relative(rootDir, options.main))));
  }
  return undefined;
}

/** `bin: { tool: ..., other: ... }`: the one named like the package (without its scope), else the first. */
function binNamed(bin: Record<string, string> | undefined, name: string | undefined): string | undefined {
  if (bin === undefined || typeof bin !== 'object') return undefined;
  const own = name?.replace(/^@[^/]+\//, '');
  return (own !== undefined ? bin[own] : undefined) ?? Object.values(bin)[0];
}
