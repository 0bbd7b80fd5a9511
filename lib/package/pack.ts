// The package step: a MergedPlan becomes a bundle directory. Built in a staging sibling, checked
// by the validator, then published atomically: a failure, an invalid bundle under
// --strict-validate or Ctrl+C leaves the previous bundle untouched and nothing half-written.
import { createHash } from 'node:crypto';
import { lutimesSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { DigestMemo } from '../cache/file-digest';
import { SidebundleError } from '../errors';
import type { MergedPlan } from '../model/plan';
import { validateBundle, type ValidationReport } from '../validate/validate';
import { version } from '../version';
import { writeContent, type ContentProgress } from './content';
import { renderLauncher } from './launcher';
import { buildManifest, serializeManifest } from './manifest';
import { MANIFEST_NAME, discard, openStaging, publish } from './publish';

export interface PackOptions {
  outDir: string;
  /** Validation problems fail the build (the previous bundle stays). */
  strictValidate?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ContentProgress) => void;
  /** Hard-link an existing copy of a content instead of copying (the step cache's store). */
  reuse?: (sha256: string) => string | undefined;
  /** Digests from the resolve step: unchanged sources are not hashed again. */
  digests?: DigestMemo;
  /** Timestamp (seconds) for directories, links, launchers and the manifest. Default:
   * SOURCE_DATE_EPOCH, else 0. Files keep their source's mtime. */
  epoch?: number;
}

export interface PackResult {
  dir: string;
  name: string;
  /** sha256 of manifest.lock: the identity of the bundle. */
  manifestSha256: string;
  files: number;
  storedBytes: number;
  validation: ValidationReport;
}

export async function packBundle(plan: MergedPlan, options: PackOptions): Promise<PackResult> {
  const staging = openStaging(options.outDir, plan.name);
  try {
    const epoch = options.epoch ?? Number(process.env.SOURCE_DATE_EPOCH ?? 0);
    const storedBytes = await writeContent(staging.dir, plan.files, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.reuse ? { reuse: options.reuse } : {}),
      ...(options.digests ? { digests: options.digests } : {}),
    });
    for (const dir of plan.dirs) mkdirSync(path.join(staging.dir, dir), { recursive: true });
    for (const link of plan.symlinks) {
      const at = path.join(staging.dir, link.path);
      mkdirSync(path.dirname(at), { recursive: true });
      symlinkSync(link.target, at);
      lutimesSync(at, epoch, epoch);
    }

    mkdirSync(path.join(staging.dir, 'bin'), { recursive: true });
    const launchers = [...plan.launchers, ...plan.shims].map((launcher) => {
      const text = renderLauncher(launcher);
      const at = path.join(staging.dir, launcher.path);
      mkdirSync(path.dirname(at), { recursive: true });
      writeFileSync(at, text, { mode: 0o755 });
      utimesSync(at, epoch, epoch);
      return { path: launcher.path, sha256: sha256(text), size: Buffer.byteLength(text), mode: '0755' };
    });

    options.signal?.throwIfAborted();
    const validation = validateBundle(staging.dir, plan);
    if (!validation.ok && options.strictValidate) {
      throw new SidebundleError('VALIDATION_FAILED', `the bundle ${plan.name} is not self-contained: ${validation.issues.length} problem(s), first: ${validation.issues[0]!.message}`, {
        input: plan.name,
        hint: 'the previous bundle was kept; see the issues (--log-level debug or --json), or drop --strict-validate to publish with warnings',
        details: { issues: validation.issues },
      });
    }

    const manifestText = serializeManifest(buildManifest(plan, launchers, validation, version()));
    const manifestPath = path.join(staging.dir, MANIFEST_NAME);
    writeFileSync(manifestPath, manifestText, { mode: 0o644 });
    utimesSync(manifestPath, epoch, epoch);
    fixDirectoryTimes(staging.dir, epoch);

    options.signal?.throwIfAborted();
    publish(staging);
    return {
      dir: staging.finalDir,
      name: plan.name,
      manifestSha256: sha256(manifestText),
      files: plan.files.length,
      storedBytes,
      validation,
    };
  } catch (error) {
    discard(staging);
    if (options.signal?.aborted && !(error instanceof SidebundleError)) {
      throw new SidebundleError('INTERRUPTED', `packaging ${plan.name} was interrupted`, {
        input: plan.name,
        hint: 'nothing was published; the previous bundle (if any) is unchanged',
        cause: error,
      });
    }
    throw error;
  }
}

/** Directories get the fixed time last: creating entries in them changed it. */
function fixDirectoryTimes(dir: string, epoch: number): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) fixDirectoryTimes(path.join(dir, entry.name), epoch);
  }
  utimesSync(dir, epoch, epoch);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
