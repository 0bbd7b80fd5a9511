// spec/nx/stale.spec.ts adds a module to the interpreter's site directory, which Python
// collection lists and sidebundle.lock records: while it is there, another spec's Nx hash of a
// Python project changes (a real miss). Specs whose cache assertions depend on that listing hold
// this lock for their whole run, so they never overlap with it in the other Jest worker.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { processRunning } from '../../lib/util/process-running';

const LOCK = path.join(os.tmpdir(), 'sidebundle-spec-python-site.lock');

/** Wait for the lock (a directory holding the owner's pid), take it, and return its release. */
export async function holdPythonSiteLock(): Promise<() => void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    } catch {
      // being written or released: look again
    }
    if (owner > 0 && !processRunning(owner)) rmSync(LOCK, { recursive: true, force: true }); // its holder died
    else await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
