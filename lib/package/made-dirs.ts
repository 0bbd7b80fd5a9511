// The directories made in each staging directory so far: the parent of a bundle's own file or
// link is made once, not once per entry in it (a mkdir that finds the directory costs a failed
// call and a stat: 133 of a 30-program bundle's 153 mkdir calls).
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';

const madeIn = new Map<string, Set<string>>();

/** Make the parent directory of `at`, a path inside the staging directory `dir`. */
export function makeParent(dir: string, at: string): void {
  const parent = path.dirname(at);
  let made = madeIn.get(dir);
  if (made === undefined) madeIn.set(dir, (made = new Set()));
  if (made.has(parent)) return;
  mkdirSync(parent, { recursive: true });
  made.add(parent);
}

/** The staging directory `dir` is published or discarded: what was made in it is forgotten. */
export function forgetMade(dir: string): void {
  madeIn.delete(dir);
}
