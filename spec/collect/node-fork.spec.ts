// A bundled Node app that forks: in host run mode node runs under the bundled loader, so its own
// execPath would be the loader and fork() would start the loader with node's arguments. The
// launcher makes process.execPath the bundle's launcher of node (lib/merge/node-exec-path.ts);
// the payload-as-root modes run node at its own path. Run in the bare root (no node, no libc).
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { launcherBinaryPath } from '../../lib/native/binding';
import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(600_000);

const MOUNT = '/tmp/b';
const MAIN = `#!/usr/bin/env node
const { fork, execFileSync } = require('node:child_process');
const child = fork(require('node:path').join(__dirname, 'child.js'), ['hi'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
let out = '';
child.stdout.on('data', (d) => (out += d));
child.on('message', (m) => console.log('parent got', JSON.stringify(m)));
child.on('exit', (code) => {
  console.log('child said:', out.trim(), '| exit', code);
  const again = execFileSync(process.execPath, ['-p', 'process.execArgv.length + " " + typeof process.env.SIDEBUNDLE_NODE_EXEC_PATH'], { encoding: 'utf8' }).trim();
  console.log('spawn(process.execPath):', again, '| execArgv', process.execArgv.length, '| variable', typeof process.env.SIDEBUNDLE_NODE_EXEC_PATH);
});
`;
const CHILD = "console.log('child', process.argv[2], 'execArgv', process.execArgv.length);\nprocess.send({ ok: true });\n";

const work = tempDir('sb-node-fork-');
const app = path.join(work, 'forker');
mkdirSync(app);
writeFileSync(path.join(app, 'main.js'), MAIN, { mode: 0o755 });
writeFileSync(path.join(app, 'child.js'), CHILD);
const root = bareRootfs();
let bundle: ReturnType<typeof createBundle>;
let hostBundle: ReturnType<typeof createBundle>;
beforeAll(() => {
  bundle = createBundle(['--name', 'forker', '--out-dir', path.join(work, 'out'), '--from-host', path.join(app, 'main.js')]);
  // --run-mode host: bin/main.js links to the launcher, and the bundle has no runner nor root.
  hostBundle = createBundle(['--name', 'forker-host', '--run-mode', 'host', '--out-dir', path.join(work, 'out'), '--from-host', path.join(app, 'main.js')]);
});

const expected = () => {
  const r = runOnHost(['/usr/bin/node', 'main.js'], { cwd: app });
  expect({ stderr: r.stderr, status: r.status }).toEqual({ stderr: '', status: 0 });
  return r.stdout;
};

test.each(['host', 'ns'])('in the bare root, mode %s, fork() and spawn(process.execPath) start node, and nothing leaks to the child', (mode) => {
  const native = expected();
  // `node -p EXPR` has execArgv ['-p', EXPR]: 2, with no preload added.
  expect(native).toBe('parent got {"ok":true}\nchild said: child hi execArgv 0 | exit 0\nspawn(process.execPath): 2 undefined | execArgv 0 | variable undefined\n');
  const r = runInRoot(root, [`${MOUNT}/bin/main.js`], { binds: { [bundle.dir]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode } });
  expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: native, stderr: '', status: 0 });
});

test('the same with the launcher of a --run-mode host bundle', () => {
  // The precondition: the entry goes through the launcher (no C library), in a bundle without
  // the runner or a mount point for a root.
  expect(readlinkSync(path.join(hostBundle.dir, 'bin/main.js'))).toBe('../runtime/sidebundle-launch');
  expect(readFileSync(path.join(hostBundle.dir, 'runtime/sidebundle-launch')).equals(readFileSync(launcherBinaryPath()!))).toBe(true);
  expect(readdirSync(path.join(hostBundle.dir, 'runtime')).sort()).toEqual(['entries', 'node-exec-path.cjs', 'sidebundle-launch']);
  const r = runInRoot(root, [`${MOUNT}/bin/main.js`], { binds: { [hostBundle.dir]: MOUNT } });
  expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: expected(), stderr: '', status: 0 });
});

test('in host mode process.execPath is the bundle\'s launcher of node', () => {
  const r = runInRoot(root, [`${MOUNT}/bin/main.js`, '--version'], { binds: { [bundle.dir]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: 'host' } });
  expect(r.status).toBe(0);
  const spec = JSON.parse(readFileSync(path.join(bundle.dir, 'runtime/entries/main.js.json'), 'utf8'));
  expect(spec.hostEnv.SIDEBUNDLE_NODE_EXEC_PATH).toBe('${SIDEBUNDLE_ROOT}/exec/payload/usr/bin/node');
  const shown = runInRoot(root, [`${MOUNT}/exec/payload/usr/bin/node`, '-p', 'process.execPath'], { binds: { [bundle.dir]: MOUNT } });
  expect({ stdout: shown.stdout, stderr: shown.stderr }).toEqual({ stdout: `${MOUNT}/exec/payload/usr/bin/node\n`, stderr: '' });
});
