// Hashing on threads of the native shim's own (native/src/hashpool.rs, reached through its small
// Node-API module, native/src/napi.rs): the digest memo queues each file a resolve finds and
// takes the digest when it needs it, so the reads and sha256 run on the other cores while the
// walk goes on. Node hashes on its one JavaScript thread, after the walk: 113 MiB of 30 programs
// took ~140 ms there with the second core idle. Loaded with process.dlopen (about a millisecond;
// ffi-rs, the tracer's way in, costs ~15 ms to require). Used only where the CPU has the SHA
// extensions: without them the shim's portable sha256 is slower than Node's (OpenSSL), threads
// or not. SIDEBUNDLE_NATIVE_HASH=0 turns it off (the benchmarks compare both). Without it, or
// where it is not built, Node hashes as before.
import { builtLibraryPath } from './binding';

export interface NativeHasher {
  /** Queue a file for hashing; the id to take the result by (once). */
  queue(path: string): number;
  /** The result of `id` (`ok <sha256> <bytes read> <statKey>` or `err <why>`), waiting up to
   * `waitMs` for it: "" if it is not done by then (taken later, once). */
  take(id: number, waitMs: number): string;
}

interface Addon extends NativeHasher {
  accelerated(): boolean;
}

let loaded: NativeHasher | null | undefined;

/** The native hasher, or undefined (turned off, not built, or no faster here). */
export function nativeHasher(): NativeHasher | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

function load(): NativeHasher | null {
  if (process.env.SIDEBUNDLE_NATIVE_HASH === '0') return null;
  const library = builtLibraryPath();
  if (library === undefined) return null;
  try {
    const module = { exports: {} as Addon };
    process.dlopen(module, library);
    return module.exports.accelerated() ? module.exports : null;
  } catch {
    return null; // a shim of an older build (no Node-API module in it): Node hashes
  }
}

/** How long one take() waits before Node's event loop turns (signals, progress) and it asks again. */
const WAIT_MS = 50;

/** The result of job `id`, waited for in short spells with the event loop turning between them:
 * a Ctrl+C is handled while a large file is hashed, as it was while Node read one. */
export async function taken(hasher: NativeHasher, id: number): Promise<string> {
  for (;;) {
    const line = hasher.take(id, WAIT_MS);
    if (line !== '') return line;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
