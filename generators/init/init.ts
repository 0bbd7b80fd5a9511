// `nx add sidebundle` / `nx g sidebundle:init`: register the plugin once, add the package once.
import { addDependenciesToPackageJson, formatFiles, readNxJson, updateNxJson, type GeneratorCallback, type Tree } from '@nx/devkit';

import { version } from '../../lib/version';
import type { InitGeneratorSchema } from './schema';

export const PLUGIN = 'sidebundle/plugin';

export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<GeneratorCallback> {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  const registered = plugins.some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN);
  if (!registered) {
    plugins.push(options.targetPrefix ? { plugin: PLUGIN, options: { targetPrefix: options.targetPrefix } } : PLUGIN);
    nxJson.plugins = plugins;
    updateNxJson(tree, nxJson);
  }
  const install = options.skipPackageJson ? () => undefined : addDependenciesToPackageJson(tree, {}, { sidebundle: `^${version()}` });
  if (!options.skipFormat) await formatFiles(tree);
  return install;
}

export default initGenerator;
