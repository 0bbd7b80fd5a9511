// pack(): MergedPlan → bundle directory. A hit is a published bundle whose manifest is the one
// this plan produced before and whose files are intact; otherwise the bundle is written,
// hard-linking content the cache already holds instead of copying it.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { sha256Text } from '../cache/step-cache';
import type { MergedPlan } from '../model/plan';
import { packBundle, type PackResult } from '../package/pack';
import { cleanupAfterDeadRuns, MANIFEST_NAME } from '../package/publish';
import { emit, STEP_VERSIONS, type StepContext } from './context';

export interface PackageStepOptions {
  outDir: string;
  strictValidate?: boolean;
}

export async function pack(plan: MergedPlan, options: PackageStepOptions, context: StepContext = {}): Promise<PackResult> {
  const cache = context.cache;
  const outDir = path.resolve(options.outDir);
  const key = cache?.key('package', STEP_VERSIONS.package, { plan, outDir, strictValidate: options.strictValidate === true });
  if (cache && key) {
    const hit = await cache.lookup<PackResult>(key);
    const manifest = hit && path.join(hit.dir, MANIFEST_NAME);
    if (hit && manifest && existsSync(manifest) && sha256Text(readFileSync(manifest, 'utf8')) === hit.manifestSha256) {
      cleanupAfterDeadRuns(outDir, plan.name);
      emit(context, { type: 'step', step: 'package', status: 'hit' });
      return hit;
    }
  }
  emit(context, { type: 'step', step: 'package', status: 'run', detail: `${plan.files.length} files` });
  const result = await packBundle(plan, {
    outDir,
    ...(options.strictValidate ? { strictValidate: true } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
    onProgress: (p) => emit(context, { type: 'progress', step: 'package', ...p }),
    ...(cache ? { reuse: (sha: string) => cache.casPath(sha), digests: cache.digests } : {}),
  });
  if (cache && key) {
    cache.adopt(path.join(result.dir, 'data'));
    // The bundle's own files are its inputs: deleting or editing one makes this a miss.
    const files = [
      path.join(result.dir, MANIFEST_NAME),
      ...[...plan.launchers, ...plan.shims].map((l) => path.join(result.dir, l.path)),
      ...new Set(plan.files.map((f) => path.join(result.dir, 'data', f.sha256))),
    ];
    cache.store(key, await cache.describe(files), result);
  }
  return result;
}

export { pack as package };
