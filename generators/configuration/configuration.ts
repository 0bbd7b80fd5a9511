// `nx g sidebundle:configuration <project> --entries ...`: write the project's sidebundle.json,
// or add the missing entries to an existing one (running it twice changes nothing).
import { formatFiles, joinPathFragments, readJson, readProjectConfiguration, writeJson, type Tree } from '@nx/devkit';

import type { BundleConfig, EntryConfig } from '../../lib/config/config';
import { initGenerator } from '../init/init';
import type { ConfigurationGeneratorSchema } from './schema';

export async function configurationGenerator(tree: Tree, options: ConfigurationGeneratorSchema): Promise<void> {
  const project = readProjectConfiguration(tree, options.project);
  const file = joinPathFragments(project.root, 'sidebundle.json');
  const requested = (Array.isArray(options.entries) ? options.entries : options.entries.split(','))
    .map((e) => e.trim())
    .filter(Boolean);
  const config: BundleConfig = tree.exists(file)
    ? readJson<BundleConfig>(tree, file)
    : { name: options.name ?? options.project, entries: [] };
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

function entryKey(entry: EntryConfig): string {
  if (typeof entry === 'string') return entry.split('::')[0]!;
  return 'host' in entry ? entry.host : `${entry.image}::${entry.path}`;
}

export default configurationGenerator;
