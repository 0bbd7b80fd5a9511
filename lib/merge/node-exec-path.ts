// process.execPath for Node in host run mode. There the launcher runs the bundled dynamic loader
// with node as its argument, so the kernel's /proc/self/exe, and with it node's execPath, is the
// loader: child_process.fork() (and spawn(process.execPath)) would run the loader with node's
// arguments. A launcher of node therefore runs node with `--require` of a small preload that sets
// process.execPath to a launcher of node alone (exec/<payload><node>, a shim like git's), taken
// from SIDEBUNDLE_NODE_EXEC_PATH, which it removes from the environment so that no program the
// app starts inherits it. The preload also drops its own --require from process.execArgv: a
// fork passes execArgv on, and the shim adds the preload itself.
//
// The payload-as-root modes (ns, bwrap, chroot) run node at its own path: execPath is right
// there, and the preload is not used. Programs other than node that re-execute /proc/self/exe
// have no such hook: in host mode they re-run the loader; they need a payload-as-root mode.
import { isNodeBinary } from '../collect/node';
import type { LauncherPlan } from '../model/plan';
import { execMirror } from './env-rules';

/** The preload, in the bundle (written by the package step when a launcher uses it). */
export const NODE_PRELOAD_PATH = 'runtime/node-exec-path.cjs';
export const NODE_EXEC_PATH_VARIABLE = 'SIDEBUNDLE_NODE_EXEC_PATH';

export const NODE_PRELOAD = `// sidebundle: node runs under the bundled dynamic loader in host run mode; its execPath is made
// the bundle's launcher of node, so that child_process.fork() starts node (lib/merge/node-exec-path.ts).
'use strict';
const launcher = process.env.${NODE_EXEC_PATH_VARIABLE};
delete process.env.${NODE_EXEC_PATH_VARIABLE};
if (launcher) {
  if (process.argv[0] === process.execPath) process.argv[0] = launcher;
  process.execPath = launcher;
}
const self = require('path').basename(__filename);
for (let i = process.execArgv.length - 2; i >= 0; i--) {
  const option = process.execArgv[i];
  if ((option === '--require' || option === '-r') && require('path').basename(process.execArgv[i + 1]) === self) process.execArgv.splice(i, 2);
}
`;

/** Whether any launcher needs the preload in the bundle. */
export function usesNodePreload(launchers: readonly LauncherPlan[]): boolean {
  return launchers.some((l) => l.hostArgs?.some((a) => 'bundlePath' in a && a.bundlePath === NODE_PRELOAD_PATH));
}

/**
 * For a launcher whose program is node (a Node script's interpreter, or node itself): the
 * preload in host mode, and the shim its execPath names (added to `shims` once per node).
 */
export function withNodeExecPath(launcher: LauncherPlan, shims: LauncherPlan[]): void {
  if (!isNodeBinary(launcher.logicalProgram) || launcher.loader === undefined) return;
  const at = execMirror(launcher.payload, launcher.logicalProgram);
  launcher.hostArgs = [{ literal: '--require' }, { bundlePath: NODE_PRELOAD_PATH }];
  launcher.hostEnv = { ...launcher.hostEnv, [NODE_EXEC_PATH_VARIABLE]: `\${SIDEBUNDLE_ROOT}/${at}` };
  if (shims.some((s) => s.path === at)) return;
  const name = at.slice(at.lastIndexOf('/') + 1);
  shims.push({ ...launcher, name, path: at, kind: 'elf-dynamic', args: [], helpersOnPath: false });
}
