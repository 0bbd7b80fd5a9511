// process.execPath for node in host mode: which launchers get the preload and the shim, and what
// the preload does when node runs it (the node running this test, with the preload required).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { NODE_EXEC_PATH_VARIABLE, NODE_PRELOAD, NODE_PRELOAD_PATH, usesNodePreload, withNodeExecPath } from '../../../lib/merge/node-exec-path';
import type { LauncherPlan } from '../../../lib/model/plan';
import { tempDir } from '../../helpers/tmp';

const launcher = (name: string, logicalProgram: string, loader = 'payload/lib64/ld-linux-x86-64.so.2'): LauncherPlan => ({
  name,
  path: `bin/${name}`,
  kind: 'script',
  program: `payload${logicalProgram}`,
  loader,
  libraryPath: ['payload/usr/lib'],
  argv0: true,
  args: [{ bundlePath: `payload/opt/sidebundle/app/${name}` }],
  helpersOnPath: false,
  env: {},
  hostEnv: { LOCPATH: '${SIDEBUNDLE_ROOT}/payload/usr/lib/locale' },
  payload: 'payload',
  logicalProgram,
});

test('a node launcher gets the preload and the variable in host mode, and one shim per node', () => {
  const shims: LauncherPlan[] = [];
  const a = launcher('a.js', '/usr/bin/node');
  const b = launcher('b.mjs', '/usr/bin/node');
  withNodeExecPath(a, shims);
  withNodeExecPath(b, shims);
  expect(a.hostArgs).toEqual([{ literal: '--require' }, { bundlePath: NODE_PRELOAD_PATH }]);
  expect(a.hostEnv).toEqual({ LOCPATH: '${SIDEBUNDLE_ROOT}/payload/usr/lib/locale', [NODE_EXEC_PATH_VARIABLE]: '${SIDEBUNDLE_ROOT}/exec/payload/usr/bin/node' });
  expect(shims).toHaveLength(1);
  expect(shims[0]).toMatchObject({ name: 'node', path: 'exec/payload/usr/bin/node', kind: 'elf-dynamic', program: 'payload/usr/bin/node', args: [], hostArgs: a.hostArgs });
  expect(usesNodePreload([a])).toBe(true);
});

test('other programs, and a node without a loader (static), are left alone', () => {
  const shims: LauncherPlan[] = [];
  const python = launcher('tool.py', '/usr/bin/python3.11');
  withNodeExecPath(python, shims);
  const { loader: _loader, ...staticNode } = launcher('s.js', '/opt/node/bin/node');
  withNodeExecPath(staticNode, shims);
  expect([python.hostArgs, staticNode.hostArgs, shims]).toEqual([undefined, undefined, []]);
  expect(usesNodePreload([python, staticNode])).toBe(false);
});

test('the preload sets execPath and argv[0], removes the variable and its own --require', () => {
  const dir = tempDir('sb-node-preload-');
  const preload = path.join(dir, path.basename(NODE_PRELOAD_PATH));
  writeFileSync(preload, NODE_PRELOAD);
  const r = spawnSync(process.execPath, ['--require', preload, '-e', `console.log(JSON.stringify([process.execPath, process.argv[0], process.execArgv, process.env.${NODE_EXEC_PATH_VARIABLE}]))`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', [NODE_EXEC_PATH_VARIABLE]: '/b/exec/payload/usr/bin/node' },
  });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual(['/b/exec/payload/usr/bin/node', '/b/exec/payload/usr/bin/node', ['-e', expect.any(String)], null]); // JSON has no undefined: the variable is gone
});
