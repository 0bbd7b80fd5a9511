// Atomic publishing of a bundle directory. A bundle is built in a hidden sibling of its final
// place and swapped in with two renames done back to back (no JavaScript can run between them,
// so Ctrl+C cannot split them). Only a SIGKILL or power loss between the two leaves the old
// bundle under its hidden aside name, and the next run puts it back. Stale staging directories
// of dead runs are removed by the next run. A directory that is not a bundle is never replaced.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError, errnoCode } from '../errors';

export const MANIFEST_NAME = 'manifest.lock';

export interface Staging {
  /** Where the new bundle is being built. */
  dir: string;
  /** Where it will be published. */
  finalDir: string;
}

/** Create the staging directory for `name` under `outDir`, after cleaning up after dead runs. */
export function openStaging(outDir: string, name: string): Staging {
  const out = path.resolve(outDir);
  try {
    mkdirSync(out, { recursive: true });
  } catch (error) {
    throw new SidebundleError('OUTPUT_UNWRITABLE', `cannot create the output directory ${out}: ${(error as Error).message}`, {
      input: out,
      kind: 'input',
      hint: 'choose an --out-dir you can write to',
      cause: error,
    });
  }
  const finalDir = path.join(out, name);
  withLock(out, name, () => recover(out, name));
  if (existsSync(finalDir) && !existsSync(path.join(finalDir, MANIFEST_NAME))) {
    throw new SidebundleError('OUTPUT_NOT_A_BUNDLE', `${finalDir} exists and is not a sidebundle bundle (no ${MANIFEST_NAME})`, {
      input: finalDir,
      kind: 'input',
      hint: 'sidebundle only replaces bundles it made; choose another --name or --out-dir, or remove that directory',
    });
  }
  const dir = path.join(out, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir);
  return { dir, finalDir };
}

/** Undo what dead runs left around `name` in `outDir` (nothing else). */
export function cleanupAfterDeadRuns(outDir: string, name: string): void {
  const out = path.resolve(outDir);
  if (existsSync(out)) withLock(out, name, () => recover(out, name));
}

/** Swap the staged bundle into place; the previous bundle (if any) is removed afterwards. */
export function publish(staging: Staging): void {
  const out = path.dirname(staging.finalDir);
  const name = path.basename(staging.finalDir);
  withLock(out, name, () => {
    const aside = path.join(out, `.${name}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    const hadPrevious = existsSync(staging.finalDir);
    if (hadPrevious) renameSync(staging.finalDir, aside);
    renameSync(staging.dir, staging.finalDir);
    if (hadPrevious) rmSync(aside, { recursive: true, force: true });
  });
}

/** Remove a staging directory (after a failure or an interruption). */
export function discard(staging: Staging): void {
  rmSync(staging.dir, { recursive: true, force: true });
}

/** Undo what dead runs left: restore an aside bundle whose swap was cut, drop stale staging. */
function recover(out: string, name: string): void {
  const finalDir = path.join(out, name);
  for (const entry of readdirSync(out)) {
    const match = new RegExp(`^\\.${escapeRegExp(name)}\\.(tmp|old)-(\\d+)-[0-9a-f]+$`).exec(entry);
    if (!match) continue;
    const full = path.join(out, entry);
    if (match[1] === 'tmp') {
      if (!isAlive(Number(match[2]))) rmSync(full, { recursive: true, force: true });
    } else if (!existsSync(finalDir)) {
      renameSync(full, finalDir);
    } else if (!isAlive(Number(match[2]))) {
      rmSync(full, { recursive: true, force: true });
    }
  }
}

/** A short critical section shared by concurrent runs on the same bundle (mkdir is atomic). */
function withLock(out: string, name: string, action: () => void): void {
  const lock = path.join(out, `.${name}.lock`);
  const owner = path.join(lock, 'pid');
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock);
      writeFileSync(owner, String(process.pid));
      break;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      let holder = NaN;
      try {
        holder = Number(readFileSync(owner, 'utf8'));
      } catch {
        // the holder has not written its pid yet
      }
      if (!Number.isNaN(holder) && !isAlive(holder)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (attempt > 200) {
        throw new SidebundleError('OUTPUT_LOCKED', `another sidebundle run is publishing ${path.join(out, name)}`, {
          input: path.join(out, name),
          hint: `wait for it, or remove ${lock} if no sidebundle is running`,
        });
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
  try {
    action();
  } finally {
    rmSync(owner, { force: true });
    try {
      rmdirSync(lock);
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
