// The replay record of a fingerprint: what `sidebundle digest` printed and the state of every
// path that output depends on. The native sidebundle-fingerprint (native/src/replay.rs) prints the
// output again, without starting Node, while every path is as recorded, and otherwise runs the
// digest, which writes a new record. What is hashed is defined once, here in TypeScript: the native
// side only compares states, in the format below (spec/unit/cli/replay.spec.ts runs both).
//
//   sidebundle-replay@1
//   STATE<TAB>PATH       one line per path, STATE one of
//                          absent                               nothing there (ENOENT, ENOTDIR)
//                          dir                                  a directory only walked through
//                          stat:DEV:INO:SIZE:MTIME_NS:CTIME_NS:MODE   anything else, and listed directories
//   (an empty line)
//   OUTPUT               the bytes the digest printed, to the end of the file
//
// ctime is in every state that matters because no one can set it back: a file edited in place with
// its mtime restored still changes its state. A directory only walked through is recorded by kind,
// so activity in /tmp above a checkout does not discard the record.
import { lstatSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

import { errnoCode } from '../errors';
import { writeFileAtomic } from '../util/write-atomic';

/** Set by sidebundle-fingerprint when it runs the digest: where to write the record. */
export const REPLAY_ENV = 'SIDEBUNDLE_REPLAY';
const HEADER = 'sidebundle-replay@1';
/** A file changed within this of the first look may have changed again in the same clock tick
 * (ctime is taken from a coarse clock) without a new state: such a record is not written. */
const RACY_NS = 1_000_000_000n;

/** What an output depends on: paths by state (directories by kind), and directories by listing. */
export interface ReplayReads {
  paths: string[];
  listed: string[];
}

/** Each path's state now, or undefined when one cannot be recorded (unreadable, a tab or newline
 * in its name, changed within RACY_NS of `nowNs`). */
export function statesOf(reads: ReplayReads, nowNs: bigint): Map<string, string> | undefined {
  const states = new Map<string, string>();
  const listed = new Set(reads.listed);
  for (const p of [...reads.paths, ...reads.listed]) {
    if (states.has(p)) continue;
    if (/[\t\n]/.test(p)) return undefined;
    const state = stateOf(p, listed.has(p), nowNs);
    if (state === undefined) return undefined;
    states.set(p, state);
  }
  return states;
}

function stateOf(p: string, listed: boolean, nowNs: bigint): string | undefined {
  let stats;
  try {
    stats = lstatSync(p, { bigint: true });
  } catch (error) {
    const code = errnoCode(error);
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : undefined;
  }
  if (stats.isDirectory() && !listed) return 'dir';
  if (stats.ctimeNs > nowNs - RACY_NS) return undefined;
  return `stat:${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}:${stats.mode}`;
}

/** Whether every path of `later` was in `earlier` in the same state. */
export function unchangedSince(earlier: Map<string, string>, later: Map<string, string>): boolean {
  for (const [p, state] of later) if (earlier.get(p) !== state) return false;
  return true;
}

export function formatReplay(states: Map<string, string>, output: string): string {
  const lines = [...states].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, state]) => `${state}\t${p}`);
  return `${HEADER}\n${lines.join('\n')}${lines.length ? '\n' : ''}\n${output}`;
}

/** Write the record atomically (a reader sees the old one or the new one). */
export function writeReplay(file: string, states: Map<string, string>, output: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, formatReplay(states, output));
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
