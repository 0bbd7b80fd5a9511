// `nx g sidebundle:configuration <project> --entries ...`: write the project's sidebundle.json,
// or add the missing entries to an existing one (running it twice changes nothing). Without
// entries, a Node app project's main file (node-app.ts) is the entry.
import { formatFiles, joinPathFragments, logger, readJson, readProjectConfiguration, writeJson, type ProjectConfiguration, type Tree } from '@nx/devkit';
import * as path from 'node:path';

import { SidebundleError } from '../../lib/errors';

import type { BundleConfig, EntryConfig } from '../../lib/config/options';
import { initGenerator } from '../init/init';
import { nodeAppEntryOf } from './node-app';
import type { ConfigurationGeneratorSchema } from './schema';

export async function configurationGenerator(tree: Tree, options: ConfigurationGeneratorSchema): Promise<void> {
  const project = readProjectConfiguration(tree, options.project);
  const file = joinPathFragments(project.root, 'sidebundle.json');
  let requested = (Array.isArray(options.entries) ? options.entries : splitEntries(options.entries ?? ''))
    .map((e) => e.trim())
    .filter(Boolean);
  if (requested.length === 0) requested = [nodeAppEntry(tree, options.project, project)];
  const config: BundleConfig = tree.exists(file)
    ? readJson<BundleConfig>(tree, file)
    : ({ $schema: schemaPath(project.root), name: options.name ?? bundleNameOf(options.project), entries: [] } as BundleConfig);
  const known = new Set(config.entries.map(entryKey));
  for (const entry of requested) if (!known.has(entryKey(entry))) config.entries.push(entry);
  if (options.traceBackend) config.traceBackend = options.traceBackend;
  if (options.outDir) config.outDir = options.outDir;
  if (options.runMode) config.runMode = options.runMode;
  if (options.emitSingleFile !== undefined) config.emitSingleFile = options.emitSingleFile;
  writeJson(tree, file, config);
  await initGenerator(tree, { skipFormat: true });
  if (!options.skipFormat) await formatFiles(tree);
}

/** No entries given: the project's Node app (its build output's main file, run by node), as an
 * entry relative to the project. */
function nodeAppEntry(tree: Tree, name: string, project: ProjectConfiguration): string {
  const app = nodeAppEntryOf(tree, project);
  if (app === undefined) {
    throw new SidebundleError('GENERATOR_NO_ENTRIES', `no --entries given, and project ${name} is no Node app the generator recognises`, {
      input: name,
      kind: 'input',
      hint: 'pass --entries (e.g. --entries=/usr/bin/jq), or give the project a build target of @nx/esbuild, @nx/webpack, @nx/rspack or @nx/js:tsc/swc with outputPath and main, or a package.json with "bin" or "main"',
    });
  }
  logger.info(`sidebundle: ${name} is a Node app; its entry is ${app.file} (from ${app.from})`);
  const relative = path.posix.relative(project.root === '.' ? '' : project.root, app.file);
  return relative.startsWith('../') ? relative : `./${relative}`;
}

/**
 * The prompt's answer (or `--entries a,b`) as entries: a comma splits, except inside quotes and
 * inside a trace command, where it splits only before something that starts a new entry (a path,
 * or a name followed by `::`): `./t.py::trace=./t.py a,b, /usr/bin/jq` is two entries.
 */
export function splitEntries(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      current += c;
    } else if (c === ',' && (!current.includes('::trace=') || startsEntry(text.slice(i + 1)))) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out.map((e) => e.trim()).filter(Boolean);
}

function startsEntry(rest: string): boolean {
  return /^\s*(?:\.{0,2}\/|~\/|[\w.+-]+::)/.test(rest);
}

/** A bundle name is a directory name: `@ws/tool` → `tool`, other characters outside
 * [A-Za-z0-9._-] → `-`. */
export function bundleNameOf(project: string): string {
  const name = project.replace(/^@[^/]+\//, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return name === '' ? 'bundle' : name;
}

/** node_modules/sidebundle/sidebundle.schema.json, relative to the project root. */
function schemaPath(projectRoot: string): string {
  const depth = projectRoot === '' || projectRoot === '.' ? 0 : projectRoot.split('/').filter(Boolean).length;
  return `${'../'.repeat(depth) || './'}node_modules/sidebundle/sidebundle.schema.json`;
}

function entryKey(entry: EntryConfig): string {
  if (typeof entry === 'string') return entry.split('::')[0]!;
  return 'host' in entry ? entry.host : `${entry.image}::${entry.path}`;
}

export default configurationGenerator;
