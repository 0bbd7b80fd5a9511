// The example workspace (examples/nx-workspace) works as its README says.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot } from '../fixtures/run-in-root';
import { repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { createWorkspace, nx, packRepository } from './workspace';

jest.setTimeout(300_000);

const example = path.join(repoRoot, 'examples/nx-workspace');

function projectFiles(root: string): Record<string, string> {
  return Object.fromEntries(readdirSync(path.join(example, root)).map((f) => [f, readFileSync(path.join(example, root, f), 'utf8')]));
}

test('both example projects bundle with nx and run in the bare rootfs', async () => {
  const base = tempDir('sb-example-ws-');
  const ws = path.join(base, 'ws');
  createWorkspace(ws, {
    tarball: packRepository(path.join(base, 'pack')),
    projects: { 'apps/py-tool': projectFiles('apps/py-tool'), 'apps/sh-tool': projectFiles('apps/sh-tool') },
  });
  const run = await nx(ws, ['run-many', '-t', 'bundle']);
  expect(run.status).toBe(0);
  const py = runInRoot(bareRootfs(), ['/tmp/b/bin/tool.py', 'a', 'b', 'a'], { binds: { [path.join(ws, 'dist/bundles/py-tool')]: '/tmp/b' } });
  expect(py.stdout).toBe('{"words": 3, "top": [["a", 2], ["b", 1]]}\n');
  const sh = runInRoot(bareRootfs(), ['/tmp/b/bin/report.sh'], { binds: { [path.join(ws, 'dist/bundles/sh-tool')]: '/tmp/b' } });
  expect(sh.stdout).toBe('3 packages, 4550 KiB\n');
  // As the example's README says: py-tool's first trace wrote its sidebundle.lock, hashed once by
  // the next run (trace reruns from the step cache); then every task is a hit.
  expect(readFileSync(path.join(ws, 'apps/py-tool/sidebundle.lock'), 'utf8')).toMatch(/"\/usr\/lib\/python3[.\d]*\/\S+\.py": "[0-9a-f]{64}"/);
  const settle = await nx(ws, ['run-many', '-t', 'bundle']);
  expect(settle.tasks['py-tool:trace']).toBe('run');
  const again = await nx(ws, ['run-many', '-t', 'bundle']);
  expect(again.output).toMatch(/Cache:\s+10\/10 hit/);
});
