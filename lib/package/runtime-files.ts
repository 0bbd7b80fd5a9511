// runtime/ of a bundle: the static launcher every entry starts through and, but in host mode, the
// runner and the empty runtime/root the payload is mounted on; copied like the payload and
// checked against their digests.
import { chmodSync, mkdirSync, utimesSync } from 'node:fs';
import * as path from 'node:path';

import { copyOnce, CopyWriteError, type DigestMemo } from '../cache/file-digest';
import { SidebundleError } from '../errors';
import type { RunMode } from '../model/options';
import { LAUNCHER_PATH, ROOT_MOUNT_POINT, RUNNER_PATH } from './launcher';
import type { Manifest } from './manifest';
import type { PackOptions, RuntimeBinary } from './pack';

/** runtime/: the launcher (staged first, the entries link to it) and, but in host mode, the
 * runner and the empty runtime/root the new root is mounted on. Host mode without the launcher:
 * nothing (sh launchers). */
export async function writeRuntime(dir: string, options: PackOptions, runMode: RunMode, epoch: number): Promise<Manifest['launchers']> {
  if (runMode === 'host') return options.launcher ? [await writeRuntimeBinary(dir, LAUNCHER_PATH, options.launcher, epoch, options.digests)] : [];
  for (const [what, binary] of [['sidebundle-launch', options.launcher], ['sidebundle-run', options.runner]] as const) {
    if (binary === undefined) {
      throw new SidebundleError('RUNNER_MISSING', `run mode ${runMode} needs the static launcher ${what}, which is not built`, {
        input: runMode,
        hint: 'install Rust (cargo) and run `npm run build:native` in the sidebundle package, or use --run-mode host',
      });
    }
  }
  mkdirSync(path.join(dir, ROOT_MOUNT_POINT), { recursive: true });
  return [await writeRuntimeBinary(dir, LAUNCHER_PATH, options.launcher!, epoch, options.digests), await writeRuntimeBinary(dir, RUNNER_PATH, options.runner!, epoch, options.digests)];
}

/** One of runtime/'s binaries, copied like the payload (content.ts): checked against its digest. */
async function writeRuntimeBinary(dir: string, relative: string, binary: RuntimeBinary, epoch: number, digests: DigestMemo | undefined): Promise<Manifest['launchers'][number]> {
  const at = path.join(dir, relative);
  mkdirSync(path.dirname(at), { recursive: true });
  let copied;
  try {
    copied = await copyOnce(binary.path, at, 0o755, digests);
  } catch (error) {
    throw error instanceof CopyWriteError ? error.cause : error; // the output's fault: reported as such
  }
  if (copied.sha256 !== binary.sha256) {
    throw new SidebundleError('SOURCE_CHANGED', `${binary.path} changed while the bundle was written (expected sha256 ${binary.sha256}, copied ${copied.sha256})`, {
      input: binary.path,
      hint: 'something is rebuilding the launcher (npm run build:native?); run again once it is done',
    });
  }
  chmodSync(at, 0o755);
  utimesSync(at, epoch, epoch);
  // Verified: the package step's cache describes the published copy without reading it again.
  digests?.remember(at, copied);
  return { path: relative, sha256: binary.sha256, size: copied.size, mode: '0755' };
}
