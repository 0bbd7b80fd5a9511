// `nx add sidebundle` / `nx g sidebundle:init`: register the plugin once (under target names no
// project already uses, as Nx's addPlugin picks them), or, in a workspace that turned inference
// plugins off, write the targets into each bundle project's project.json; add the package once.
import {
  addDependenciesToPackageJson,
  formatFiles,
  getProjects,
  joinPathFragments,
  readJson,
  readNxJson,
  updateNxJson,
  updateProjectConfiguration,
  type GeneratorCallback,
  type Tree,
} from '@nx/devkit';

import { version } from '../../lib/version';
import { sidebundleTargets, targetNamesFor, targetPrefixFor, type ConfigFields } from '../../plugins/plugin';
import type { InitGeneratorSchema } from './schema';

export const PLUGIN = 'sidebundle/plugin';

export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<GeneratorCallback> {
  const nxJson = readNxJson(tree) ?? {};
  if (nxJson.useInferencePlugins === false) addExplicitTargets(tree, options.targetPrefix ?? '');
  else {
    const plugins = nxJson.plugins ?? [];
    if (!plugins.some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN)) {
      const taken = [...getProjects(tree).values()].flatMap((p) => Object.keys(p.targets ?? {}));
      const targetPrefix = targetPrefixFor(taken, options.targetPrefix ?? '');
      plugins.push(targetPrefix ? { plugin: PLUGIN, options: { targetPrefix } } : PLUGIN);
      nxJson.plugins = plugins;
      updateNxJson(tree, nxJson);
    }
  }
  const install = options.skipPackageJson ? () => undefined : addDependenciesToPackageJson(tree, {}, { sidebundle: `^${version()}` });
  if (!options.skipFormat) await formatFiles(tree);
  return install;
}

/** The plugin's targets, written out, for each project with a sidebundle.json that has none yet. */
function addExplicitTargets(tree: Tree, prefix: string): void {
  for (const [name, project] of getProjects(tree)) {
    const configFile = joinPathFragments(project.root, 'sidebundle.json');
    const targets = project.targets ?? {};
    if (!tree.exists(configFile) || Object.values(targets).some((t) => t.executor?.startsWith('sidebundle:'))) continue;
    const config = readJson<ConfigFields>(tree, configFile);
    const added = sidebundleTargets(configFile, config, tree.root, { targetPrefix: targetPrefixFor(Object.keys(targets), prefix, targetNamesFor(config)) });
    updateProjectConfiguration(tree, name, { ...project, targets: { ...targets, ...added } });
  }
}

export default initGenerator;
