// The plugin's createNodes over a small workspace, as Nx's own plugin specs check theirs: the
// whole inferred configuration as a snapshot (targets, inputs, outputs, dependsOn, metadata), so
// any change to what Nx hashes or restores shows up in review. Behaviours are pinned one by one
// in spec/nx/plugin.spec.ts. After an intended change: npx jest spec/unit/plugins -u
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { CreateNodesContextV2 } from '@nx/devkit';

import { createNodes } from '../../../plugins/plugin';
import { tempDir } from '../../helpers/tmp';

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'ws', private: true }),
  'apps/tool/project.json': JSON.stringify({ name: 'tool' }),
  'apps/tool/tool.py': '#!/usr/bin/python3\nprint("hi")\n',
  'apps/tool/sidebundle.json': JSON.stringify({
    name: 'tool',
    entries: ['/usr/bin/jq::trace=jq --version', { host: './tool.py', trace: './tool.py' }],
    copyDirs: ['./share:/opt/tool/share'],
    emitSingleFile: true,
  }),
  'apps/shipped/package.json': JSON.stringify({ name: 'shipped', scripts: { build: 'true' } }),
  'apps/shipped/sidebundle.json': JSON.stringify({ name: 'shipped', entries: ['../../dist/hello/hello'], push: 'registry://localhost:5000/tools/shipped:1', outDir: 'out' }),
  // a configuration outside any project (a fixture, a copy): no project
  'fixtures/sidebundle.json': JSON.stringify({ name: 'stray', entries: ['/usr/bin/jq'] }),
};

test('createNodes infers the same projects and targets from the same workspace', async () => {
  const root = tempDir('sb-plugin-');
  for (const [file, content] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  const configFiles = Object.keys(FILES).filter((f) => f.endsWith('sidebundle.json'));
  const results = await createNodes[1](configFiles, {}, { workspaceRoot: root, nxJsonConfiguration: {} } as CreateNodesContextV2);
  // Nothing of the checkout's own path may leak into what Nx hashes or stores.
  expect(JSON.stringify(results)).not.toContain(root);
  expect(results.map(([file, result]) => [file, Object.keys(result.projects ?? {})])).toEqual([
    ['apps/tool/sidebundle.json', ['apps/tool']],
    ['apps/shipped/sidebundle.json', ['apps/shipped']],
    ['fixtures/sidebundle.json', []],
  ]);
  expect(results).toMatchSnapshot();
});
