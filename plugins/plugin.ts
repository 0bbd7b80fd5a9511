// Inferred targets: every project with a sidebundle.json gets resolve → trace → merge → package
// targets (and bundle, which depends on them all), with inputs that make Nx's cache correct for
// files outside the workspace, and outputs Nx can restore. Kept light: no engine import here
// (Nx loads plugins in workers for every project-graph computation).
//
// Inputs, per target:
//   resolve  `sidebundle digest --config <file>`: a fresh fingerprint of every system file the
//            resolver reads (libraries, ld.so.cache, absent paths it probed), and only the
//            resolve-relevant configuration, so editing a trace command does not touch it;
//   trace    the config file and the resolve target's closure.json (which holds the digest of
//            every bundled library and program);
//   merge    the config file and the closure/traced outputs;
//   package  the config file and plan.json.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import type { CreateNodes, CreateNodesResult, TargetConfiguration } from '@nx/devkit';

export interface SidebundlePluginOptions {
  /** Prefix for the inferred target names (default none: resolve, trace, merge, package, bundle). */
  targetPrefix?: string;
}

export const CONFIG_GLOB = '**/sidebundle.json';

export const createNodes: CreateNodes<SidebundlePluginOptions> = [
  CONFIG_GLOB,
  (configFiles, options, context) =>
    configFiles.map((configFile) => [configFile, nodesFor(configFile, options ?? {}, context.workspaceRoot)] as const),
];

/** @deprecated Nx 21–23 name of the same hook. */
export const createNodesV2 = createNodes;

function nodesFor(configFile: string, options: SidebundlePluginOptions, workspaceRoot: string): CreateNodesResult {
  const projectRoot = path.dirname(configFile);
  let config: { name?: unknown; outDir?: unknown; emitSingleFile?: unknown };
  try {
    config = JSON.parse(readFileSync(path.join(workspaceRoot, configFile), 'utf8')) as typeof config;
  } catch {
    return {}; // an unreadable config gets no targets; the executors report its errors
  }
  const name = typeof config.name === 'string' ? config.name : path.basename(projectRoot);
  const outDir = typeof config.outDir === 'string' ? config.outDir : 'dist/bundles';
  const t = (target: string) => `${options.targetPrefix ?? ''}${target}`;
  const stepDir = `{workspaceRoot}/dist/sidebundle/${projectRoot}/${name}`;
  const common = { config: configFile };
  const sidebundleVersion = { externalDependencies: ['sidebundle'] };
  const targets: Record<string, TargetConfiguration> = {
    [t('resolve')]: {
      executor: 'sidebundle:resolve',
      options: common,
      cache: true,
      inputs: [{ runtime: `node node_modules/sidebundle/dist/lib/cli/main.js digest --config ${configFile}` }, sidebundleVersion],
      outputs: [`${stepDir}/closure.json`],
    },
    [t('trace')]: {
      executor: 'sidebundle:trace',
      options: common,
      cache: true,
      dependsOn: [t('resolve')],
      inputs: [`{projectRoot}/sidebundle.json`, { dependentTasksOutputFiles: '**/closure.json' }, sidebundleVersion],
      outputs: [`${stepDir}/traced.json`],
    },
    [t('merge')]: {
      executor: 'sidebundle:merge',
      options: common,
      cache: true,
      dependsOn: [t('trace')],
      inputs: [`{projectRoot}/sidebundle.json`, { dependentTasksOutputFiles: '**/*.json', transitive: true }, sidebundleVersion],
      outputs: [`${stepDir}/plan.json`],
    },
    [t('package')]: {
      executor: 'sidebundle:package',
      options: common,
      cache: true,
      dependsOn: [t('merge')],
      inputs: [`{projectRoot}/sidebundle.json`, { dependentTasksOutputFiles: '**/plan.json' }, sidebundleVersion],
      outputs: [`{workspaceRoot}/${outDir}/${name}`, ...(config.emitSingleFile === true ? [`{workspaceRoot}/${outDir}/${name}.run`] : [])],
    },
    [t('bundle')]: {
      executor: 'nx:noop',
      cache: true,
      dependsOn: [t('package')],
    },
  };
  return { projects: { [projectRoot]: { targets } } };
}
