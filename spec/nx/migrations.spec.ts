// migrations.json: each entry points at a built migration, and the 0.1.0 one adds "$schema" to
// every sidebundle.json and names its unknown keys without touching them.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { readJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';

import * as migration from '../../migrations/update-0-1-0/add-config-schema';
import { repoRoot } from '../helpers/cli';

test('package.json names migrations.json, whose entries name a source file and an exported function', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { 'nx-migrations': { migrations: string }; files: string[] };
  expect(pkg.files).toEqual(expect.arrayContaining(['migrations.json', 'dist/migrations']));
  const migrations = JSON.parse(readFileSync(path.join(repoRoot, pkg['nx-migrations'].migrations), 'utf8')) as { generators: Record<string, { version: string; implementation: string }> };
  const entries = Object.values(migrations.generators);
  expect(entries.length).toBeGreaterThan(0);
  for (const entry of entries) {
    expect(entry.version).toMatch(/^\d+\.\d+\.\d+$/);
    const [file, exported] = entry.implementation.split('#');
    const source = path.join(repoRoot, file!.replace(/^\.\/dist\//, '') + '.ts');
    expect(existsSync(source)).toBe(true);
    expect(typeof (require(source) as Record<string, unknown>)[exported!]).toBe('function');
  }
});

test('0.1.0 adds "$schema" to each sidebundle.json and reports unknown keys, changing nothing else', async () => {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('apps/a/sidebundle.json', JSON.stringify({ name: 'a', entries: ['/usr/bin/jq'], traceTimout: 30 }));
  tree.write('sidebundle.json', JSON.stringify({ $schema: 'custom.json', name: 'root', entries: ['/usr/bin/jq'] }));
  tree.write('fixtures/broken/sidebundle.json', '{ nope');
  tree.write('node_modules/x/sidebundle.json', '{}');
  const report = await migration.addConfigSchema(tree);
  expect(report).toEqual({ updated: ['apps/a/sidebundle.json'], unknownKeys: { 'apps/a/sidebundle.json': ['traceTimout'] } });
  expect(readJson(tree, 'apps/a/sidebundle.json')).toEqual({ $schema: '../../node_modules/sidebundle/sidebundle.schema.json', name: 'a', entries: ['/usr/bin/jq'], traceTimout: 30 });
  expect(Object.keys(readJson(tree, 'apps/a/sidebundle.json'))[0]).toBe('$schema');
  expect(readJson(tree, 'sidebundle.json').$schema).toBe('custom.json');
  expect(tree.read('fixtures/broken/sidebundle.json', 'utf8')).toBe('{ nope');
  const again = await migration.addConfigSchema(tree);
  expect(again.updated).toEqual([]);
});
