// Paths the Nx side (plugins/plugin.ts, executors/shared/options.ts) and the option table must
// agree on, declared once. Imports nothing: the plugin loads it in every project-graph computation.

/** Where bundles go in a workspace, from its root (outDir's default in the option table). */
export const NX_OUT_DIR = 'dist/bundles';

/** Where the Nx chain's JSON step results go, from the workspace root: STEP_DIR/<projectRoot>/<name>/. */
export const STEP_DIR = 'dist/sidebundle';

/** The step files, by the option that overrides each. */
export const STEP_FILES = { closureFile: 'closure.json', tracedFile: 'traced.json', planFile: 'plan.json' } as const;

/** The step directory of one configuration, relative to the workspace root. */
export function stepDirOf(projectRoot: string, name: string): string {
  return `${STEP_DIR}/${projectRoot}/${name}`;
}
