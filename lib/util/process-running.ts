// Whether a process is still there, for the marks runs leave with their pid (publish locks,
// staging directories, the image store's temporary entries, the CLI's code-cache marks).
import { readFileSync, readlinkSync } from 'node:fs';

/** Whether process `pid` is alive (and, given its start time, is still that process). */
export function processRunning(pid: number, start?: string): boolean {
  // This process, unless a start time says the pid was an earlier process's (before a reuse).
  if (pid === process.pid && start === undefined) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid is taken; by the owner only if it started when the owner did.
  if (start === undefined) return true;
  const now = startTime(pid);
  return now === undefined || now === start;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat). */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** This process's pid namespace (the inode number of /proc/self/ns/pid): a pid means a process
 * only inside the namespace it was taken in. */
export function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid').replace(/\D/g, '') || undefined;
  } catch {
    return undefined;
  }
}
