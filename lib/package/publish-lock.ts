// A short critical section shared by concurrent runs publishing the same bundle: the directory
// OUTDIR/.NAME.lock holding a file `pid` ("PID STARTTIME"). It is made whole elsewhere and
// renamed into place, so a lock is never seen without its owner; rename also replaces an empty
// directory, so an empty lock left by a crash of an older version is simply taken over. A lock
// whose owner is gone (no such pid, or a pid reused by a process started later) is stale and
// broken by the next run.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';

const WAIT_MS = 25;
const ATTEMPTS = 200;

export function withPublishLock<T>(out: string, name: string, action: () => T): T {
  const lock = path.join(out, `.${name}.lock`);
  for (let attempt = 0; !tryAcquire(lock); attempt++) {
    if (breakIfStale(lock)) continue;
    if (attempt >= ATTEMPTS) {
      const owner = ownerOf(lock);
      throw new SidebundleError('OUTPUT_LOCKED', `another sidebundle run${owner ? ` (pid ${owner.pid})` : ''} is publishing ${path.join(out, name)}`, {
        input: lock,
        hint: `wait for it to finish and run again${owner ? '' : `, or remove ${lock} if no sidebundle is running`}`,
      });
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, WAIT_MS);
  }
  try {
    removeLeftovers(out, name);
    return action();
  } finally {
    const free = sibling(lock, 'free');
    try {
      renameSync(lock, free);
    } catch {
      // broken by someone who judged us dead: nothing of ours is left
    }
    rmSync(free, { recursive: true, force: true });
  }
}

function tryAcquire(lock: string): boolean {
  const fresh = sibling(lock, 'new');
  mkdirSync(fresh);
  writeFileSync(path.join(fresh, 'pid'), `${process.pid} ${startTime(process.pid) ?? ''}`.trim());
  try {
    renameSync(fresh, lock);
    return true;
  } catch (error) {
    rmSync(fresh, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') return false;
    throw error;
  }
}

/** Move a lock whose owner is gone out of the way; true when the caller may try again. */
function breakIfStale(lock: string): boolean {
  const owner = ownerOf(lock);
  if (owner === undefined || isRunning(owner)) return false;
  const stale = sibling(lock, 'stale');
  try {
    renameSync(lock, stale);
  } catch {
    return true; // gone already: try again
  }
  // Another run may have taken over between the read and the rename: then it is not stale.
  if (ownerOf(stale)?.text !== owner.text) {
    try {
      renameSync(stale, lock);
      return false;
    } catch {
      // a third run holds the lock now: the moved one is dropped below
    }
  }
  rmSync(stale, { recursive: true, force: true });
  return true;
}

interface Owner {
  pid: number;
  start: string | undefined;
  text: string;
}

function ownerOf(lock: string): Owner | undefined {
  let text;
  try {
    text = readFileSync(path.join(lock, 'pid'), 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start] = text.trim().split(' ');
  return /^\d+$/.test(pid ?? '') ? { pid: Number(pid), start, text } : undefined;
}

function isRunning(owner: Owner): boolean {
  return processRunning(owner.pid, owner.start);
}

/** Whether process `pid` is alive (and, given its start time, is still that process). */
export function processRunning(pid: number, start?: string): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid is taken; by the owner only if it started when the owner did.
  const now = startTime(pid);
  return start === undefined || now === undefined || now === start;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat). */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function sibling(lock: string, what: 'new' | 'free' | 'stale'): string {
  return `${lock}-${what}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Lock temporaries of dead runs (a crash between a mkdir and its rename). */
function removeLeftovers(out: string, name: string): void {
  const prefix = `.${name}.lock-`;
  for (const entry of readdirSync(out)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = /^(?:new|free|stale)-(\d+)-[0-9a-f]+$/.exec(entry.slice(prefix.length))?.[1];
    if (pid !== undefined && !processRunning(Number(pid))) rmSync(path.join(out, entry), { recursive: true, force: true });
  }
}
