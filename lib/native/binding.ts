// The native shim and the static binaries (sidebundle-agent, sidebundle-run): the one place that
// knows where they are. Found and loaded on first use only (everything but tracing works without
// it): native/prebuilt/ as shipped in the npm package, else native/target/ of a checkout, else
// built once with `cargo build --offline` if cargo exists. Calls go through ffi-rs with
// runInNewThread, so a whole trace session (fork, exec, the tracer loop) runs in one libuv
// worker thread and the event loop never blocks. Results come back as a pointer that we read
// and free with the shim's own sb_free (ffi-rs's freeResultMemory double-frees strings).
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { packageRoot } from '../version';

const LIBRARY = 'libsidebundle_native.so';
const AGENT = 'sidebundle-agent';
const RUNNER = 'sidebundle-run';
const LAUNCHER = 'sidebundle-launch';

export interface NativeBinding {
  /** Run one trace session (JSON request → JSON report or {error}). */
  trace(request: object): Promise<Record<string, unknown>>;
  /** Cancel a running session by id. */
  cancel(session: number): boolean;
  /** Capabilities and backend availability of this process. */
  probe(): Record<string, unknown>;
}

let loaded: NativeBinding | undefined;
let loadError: SidebundleError | undefined;

function candidates(name: string, target: string): string[] {
  const root = packageRoot();
  return [path.join(root, 'native/prebuilt', name), path.join(root, 'native', target, name)];
}

/** Path of a native artefact, building the shim once with cargo when none is there. */
function locate(name: string, target: string): string | undefined {
  const found = candidates(name, target).find((p) => existsSync(p));
  if (found) return found;
  const script = path.join(packageRoot(), 'scripts/build-native.js');
  if (!existsSync(path.join(packageRoot(), 'native/Cargo.toml')) || !existsSync(script)) return undefined;
  process.stderr.write('sidebundle: building the native tracer (first use; cargo, offline)…\n');
  (require('node:child_process') as typeof import('node:child_process')).spawnSync(process.execPath, [script], { stdio: ['ignore', 'ignore', 'inherit'] });
  return candidates(name, target).find((p) => existsSync(p));
}

/** The static agent binary (tracing inside a root, or inside a container). */
export function agentBinaryPath(): string {
  const found = locate(AGENT, 'target/static/x86_64-unknown-linux-gnu/release');
  if (!found) throw unavailable('the sidebundle-agent binary is missing');
  return found;
}

/** The static runner: single-file bundles, and run mode bwrap in the others. */
export function runnerBinaryPath(): string | undefined {
  return locate(RUNNER, 'target/static/x86_64-unknown-linux-gnu/release');
}

/** The launcher of a bundle's entries: no C library, so it starts in a fraction of the static
 * runner's time (native/nolibc). */
export function launcherBinaryPath(): string | undefined {
  return locate(LAUNCHER, 'target/nolibc/x86_64-unknown-linux-gnu/release');
}

/** The shim as built (shipped or by a checkout's build), never building it: for what is only
 * faster with it (hashing, lib/native/hash.ts). */
export function builtLibraryPath(): string | undefined {
  return candidates(LIBRARY, 'target/release').find((p) => existsSync(p));
}

function unavailable(why: string, cause?: unknown): SidebundleError {
  return new SidebundleError('TRACE_NATIVE_UNAVAILABLE', `tracing is not available: ${why}`, {
    hint: 'install Rust (cargo) and run `npm run build:native` in the sidebundle package, or use --trace-backend off',
    ...(cause ? { cause } : {}),
  });
}

export function nativeBinding(): NativeBinding {
  if (loaded) return loaded;
  if (loadError) throw loadError;
  try {
    const library = locate(LIBRARY, 'target/release');
    if (!library) throw unavailable('the native shim is not built and could not be built here');
    // Required here, on first use: the addon is loaded only by commands that trace.
    const ffi = require('ffi-rs') as typeof import('ffi-rs');
    const key = `sidebundle-native:${library}`;
    ffi.open({ library: key, path: library });
    const readAndFree = (pointer: unknown): Record<string, unknown> => {
      const [text] = ffi.restorePointer({ retType: [ffi.DataType.String], paramsValue: ffi.wrapPointer([pointer as never]) }) as string[];
      ffi.load({ library: key, funcName: 'sb_free', retType: ffi.DataType.Void, paramsType: [ffi.DataType.External], paramsValue: [pointer] });
      return JSON.parse(text!) as Record<string, unknown>;
    };
    const call = (funcName: string, request: object) =>
      ffi.load({ library: key, funcName, retType: ffi.DataType.External, paramsType: [ffi.DataType.String], paramsValue: [JSON.stringify(request)] });
    loaded = {
      trace: async (request) =>
        readAndFree(await ffi.load({ library: key, funcName: 'sb_trace', retType: ffi.DataType.External, paramsType: [ffi.DataType.String], paramsValue: [JSON.stringify(request)], runInNewThread: true })),
      cancel: (session) => readAndFree(call('sb_cancel', { session })).cancelled === true,
      probe: () => readAndFree(call('sb_probe', {})),
    };
    return loaded;
  } catch (error) {
    loadError = error instanceof SidebundleError ? error : unavailable((error as Error).message, error);
    throw loadError;
  }
}
