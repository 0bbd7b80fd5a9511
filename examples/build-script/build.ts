// A build script composing sidebundle's steps through the programmatic API (no Nx, no CLI):
// resolve two entries once, trace one of them, then package the same resolved content twice
// under different names; the step cache makes the second package a matter of hard links.
//
//   npm run example:api      (compiles it and runs node dist/examples/build-script/build.js out)
import * as os from 'node:os';
import * as path from 'node:path';

import { merge, pack, resolve, StepCache, trace } from '../../lib';

export async function buildBundles(outDir: string, cacheDir = path.join(os.tmpdir(), 'sidebundle-example-cache')) {
  const context = { cache: new StepCache(cacheDir) };

  // 1. One closure for two programs.
  const closure = await resolve({
    entries: [
      { source: 'host', path: '/usr/bin/jq' },
      { source: 'host', path: '/usr/bin/python3' },
    ],
  }, context);

  // 2. An extra traced run: what python loads at run time (extension modules, stdlib).
  const traced = await trace(closure, {
    commands: [{ entry: 'python3', command: ['/usr/bin/python3', '-c', 'import json, sqlite3'] }],
    backend: 'auto',
  }, context);

  // 3. Merge the static and traced closures, and package the plan twice under two names.
  const full = await merge({ name: 'tools', closures: [closure, traced.closure] }, context);
  const small = await merge({ name: 'jq-only', closures: [{ ...closure, entries: closure.entries.filter((e) => e.name === 'jq') }] }, context);
  const tools = await pack(full, { outDir }, context);
  const jqOnly = await pack(small, { outDir }, context);
  return { tools, jqOnly, traced: traced.reports.map((r) => ({ command: r.command, backend: r.backend, files: r.files.length })) };
}

if (require.main === module) {
  buildBundles(path.resolve(process.argv[2] ?? 'out')).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
