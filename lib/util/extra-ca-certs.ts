// NODE_EXTRA_CA_CERTS kept from Node's start-up. Where the `sidebundle` command runs as the shell
// script scripts/bundle-cli.js makes of bin.js, the script moves the variable to
// SIDEBUNDLE_NODE_EXTRA_CA_CERTS so that Node 20 does not parse the certificates at start-up
// (~45 ms); bin.js hands it back here, and lib/image/registry-http.ts reads the file on its first
// https exchange. bin.js and the CLI's bundle are separate files, each with its own copy of this
// module, so the hand-over is a global, not module state.
import * as path from 'node:path';

const DEFERRED = Symbol.for('sidebundle.deferredExtraCaCerts');

export interface DeferredCaCerts {
  /** The file, resolved against the directory Node would have read it in (the start's). */
  file: string;
  /** The variable's value, for messages. */
  given: string;
}

/** Record `given` (the variable's value; undefined: none) as certificates Node did not load. */
export function recordDeferredCaCerts(given: string | undefined): void {
  const global = globalThis as Record<symbol, unknown>;
  if (given === undefined || given === '') delete global[DEFERRED];
  else global[DEFERRED] = { file: path.resolve(given), given } satisfies DeferredCaCerts;
}

/** The certificates Node did not load at start-up, if the shell script kept them from it. */
export function deferredCaCerts(): DeferredCaCerts | undefined {
  return (globalThis as Record<symbol, unknown>)[DEFERRED] as DeferredCaCerts | undefined;
}

/** bin.js's first act: the variable goes back into the environment of the programs sidebundle
 * starts, and the certificates are recorded for the first https exchange. */
export function restoreExtraCaCerts(env: NodeJS.ProcessEnv = process.env): void {
  const deferred = env.SIDEBUNDLE_NODE_EXTRA_CA_CERTS;
  if (deferred === undefined) return;
  delete env.SIDEBUNDLE_NODE_EXTRA_CA_CERTS;
  env.NODE_EXTRA_CA_CERTS = deferred;
  recordDeferredCaCerts(deferred);
}
