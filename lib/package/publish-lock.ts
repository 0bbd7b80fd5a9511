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
import { pidNamespace, processRunning, startTime } from '../util/process-running';

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
  const mine = ownerOf(lock)?.text;
  try {
    removeLeftovers(out, name);
    return action();
  } finally {
    // Only our own lock is released: if someone judged us dead and took it over, it is theirs.
    if (ownerOf(lock)?.text === mine) {
      const free = sibling(lock, 'free');
      try {
        renameSync(lock, free);
      } catch {
        // gone meanwhile
      }
      rmSync(free, { recursive: true, force: true });
    }
  }
}

function tryAcquire(lock: string): boolean {
  const fresh = sibling(lock, 'new');
  mkdirSync(fresh);
  writeFileSync(path.join(fresh, 'pid'), `${process.pid} ${startTime(process.pid) ?? '-'} ${pidNamespace() ?? '-'}`);
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
    } catch {
      // A third run holds the lock now; the moved one is live and is not ours to delete (it
      // stays aside and goes once its owner has ended: removeLeftovers).
    }
    return false;
  }
  rmSync(stale, { recursive: true, force: true });
  return true;
}

interface Owner {
  pid: number;
  start: string | undefined;
  /** The owner's pid namespace: a pid means nothing in another one (containers sharing a dir). */
  namespace: string | undefined;
  text: string;
}

function ownerOf(lock: string): Owner | undefined {
  let text;
  try {
    text = readFileSync(path.join(lock, 'pid'), 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start, namespace] = text.trim().split(' ').map((f) => (f === '-' ? undefined : f));
  return /^\d+$/.test(pid ?? '') ? { pid: Number(pid), start, namespace, text } : undefined;
}

function isRunning(owner: Owner): boolean {
  // An owner in another pid namespace cannot be checked from here: never judge it dead.
  if (owner.namespace !== undefined && owner.namespace !== pidNamespace()) return true;
  return processRunning(owner.pid, owner.start);
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
    if (pid === undefined || processRunning(Number(pid))) continue;
    // A live lock a racing run moved aside (breakIfStale) goes only once its owner has ended.
    const owner = ownerOf(path.join(out, entry));
    if (owner === undefined || !isRunning(owner)) rmSync(path.join(out, entry), { recursive: true, force: true });
  }
}
