// Runs sharing a cache save the digest memo at the same time: each save merges into the table as
// it is on disk and renames a new file over it, so what is left is always a whole, believed
// table whose every entry is right (at worst an entry one run wrote while another was saving is
// lost, and hashed again). Real processes on the built cache (dist/), as the CLI runs it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { MemoTable } from '../../lib/cache/memo-table';
import { StepCache } from '../../lib/cache/step-cache';
import { repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-memo-concurrency-');
const PROCESSES = 4;
const FILES = 40;

/** One writer: makes FILES files, hashing each through the memo and saving after each. */
const writer = `
const { writeFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');
const { StepCache } = require(${JSON.stringify(path.join(repoRoot, 'dist/lib/cache/step-cache.js'))});
const [cacheDir, own] = process.argv.slice(1);
mkdirSync(own, { recursive: true });
(async () => {
  const cache = new StepCache(cacheDir);
  for (let i = 0; i < ${FILES}; i++) {
    const file = path.join(own, String(i));
    writeFileSync(file, own + ' ' + i);
    await cache.digests.digest(file);
    cache.saveMemo();
  }
})().catch((error) => { console.error(error); process.exit(1); });
`;

function run(cacheDir: string, own: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', writer, cacheDir, own], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', resolve);
  });
}

test('processes saving the memo at once leave a whole table, every entry right', async () => {
  const cacheDir = path.join(dir, 'cache');
  const owners = Array.from({ length: PROCESSES }, (_, i) => path.join(dir, `writer-${i}`));
  expect(await Promise.all(owners.map((own) => run(cacheDir, own)))).toEqual(owners.map(() => 0));

  const table = new MemoTable(path.join(cacheDir, 'memo.bin'), path.join(cacheDir, 'tmp'), readFileSync(path.join(cacheDir, 'memo.key')));
  const count = table.count();
  expect(count).toBeGreaterThan(0); // believed: its MAC holds
  const cache = new StepCache(cacheDir);
  let known = 0;
  for (const own of owners) {
    for (let i = 0; i < FILES; i++) {
      const file = path.join(own, String(i));
      const digest = cache.digests.known(file);
      if (digest === undefined) continue;
      known += 1;
      expect(digest.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    }
  }
  expect(known).toBe(count); // nothing in it but these files' states
  expect(readdirSync(path.join(cacheDir, 'tmp'))).toEqual([]); // no temporary left behind
});
