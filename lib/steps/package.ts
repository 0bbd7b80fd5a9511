// pack(): MergedPlan → bundle directory. A hit is a published bundle whose manifest is the one
// this plan produced before and whose files are intact; otherwise the bundle is written,
// hard-linking content the cache already holds instead of copying it.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { sha256Text, type StepCache, type StepInput } from '../cache/step-cache';
import type { MergedPlan } from '../model/plan';
import { INVALIDATION_MODE, type BytecodeStore, type CompiledIndex } from '../package/bytecode';
import type { Manifest } from '../package/manifest';
import type { RunMode } from '../model/options';
import { ENTRIES_DIR, LAUNCHER_PATH, RUNNER_PATH } from '../package/launcher';
import { packBundle, type PackResult } from '../package/pack';
import type { SingleFileResult } from '../package/single-file';
import { SidebundleError } from '../errors';
import { launcherBinaryPath, runnerBinaryPath } from '../native/binding';
import { cleanupAfterDeadRuns, MANIFEST_NAME } from '../package/publish';
import { shapeMatches } from '../inspect/verify';
import { cachedStep } from './cached';
import { digestsOf, emit, STEP_VERSIONS, type StepContext } from './context';

export interface PackageStepOptions {
  outDir: string;
  strictValidate?: boolean;
  /** How the launchers run their programs (default auto: the payload as the root filesystem
   * in an unprivileged namespace where the machine allows it, else host). */
  runMode?: RunMode;
  /** Also write OUTDIR/NAME.run: one executable file carrying the whole bundle. */
  singleFile?: boolean;
  /** Called with the staged bundle once it is complete, before it is published; a failure
   * keeps the previous bundle (not on a cache hit: nothing is published then). */
  beforePublish?: (stagedDir: string) => Promise<void>;
}

export interface PackStepResult extends PackResult {
  runMode: RunMode;
  singleFile?: SingleFileResult;
}

export async function pack(plan: MergedPlan, options: PackageStepOptions, context: StepContext = {}): Promise<PackStepResult> {
  const cache = context.cache;
  const outDir = path.resolve(options.outDir);
  let runMode = options.runMode ?? 'auto';
  let runner = runMode === 'host' ? undefined : runnerBinaryPath();
  if (options.singleFile) runner ??= runnerBinaryPath();
  // Every entry starts through the launcher (sh launchers in host mode where it is not built).
  const launcher = launcherBinaryPath();
  if ((runner === undefined || launcher === undefined) && runMode === 'auto') {
    const missing = runner === undefined ? 'sidebundle-run' : 'sidebundle-launch';
    emit(context, { type: 'log', level: 'warn', message: `the static launcher ${missing} is not built: launchers use run mode host (build it with \`npm run build:native\`)` });
    runMode = 'host';
  }
  if (options.singleFile && runner === undefined) {
    throw new SidebundleError('RUNNER_MISSING', 'a single-file bundle needs the static launcher sidebundle-run, which is not built', {
      input: plan.name,
      hint: 'install Rust (cargo) and run `npm run build:native` in the sidebundle package, or drop --emit-single-file',
    });
  }
  const digestOf = async (file: string | undefined) => (file === undefined ? undefined : { path: file, sha256: (await digestsOf(context).digest(file)).sha256 });
  const runnerFile = await digestOf(runner);
  const runnerSha = runnerFile?.sha256 ?? null;
  // The bundle carries the runner in every mode but host (a single file carries it either way).
  const launcherFile = await digestOf(launcher);
  const launcherSha = launcherFile?.sha256 ?? null;
  const bundled = runMode === 'host' ? undefined : runnerFile;
  return cachedStep<PackStepResult>(context, {
    step: 'package',
    // The plan by the digest of its JSON, as merge keys its closures (lib/steps/merge.ts).
    options: { plan: sha256Text(JSON.stringify(plan)), outDir, strictValidate: options.strictValidate === true, runMode, runnerSha, launcherSha, singleFile: options.singleFile === true },
    runDetail: `${plan.files.length} files`,
    // The manifest this plan produced, and a tree of its shape: a file added or a directory
    // locked since is no hit (edits of listed files change the states the hit is keyed on).
    usable: (stored) => shapeMatches(stored.dir, stored.manifestSha256),
    onHit: () => cleanupAfterDeadRuns(outDir, plan.name),
    run: async () => {
      const linked = new Set<string>(); // files linked from the store: adopting them again is a no-op
      const packed = await packBundle(plan, {
        outDir,
        ...(options.strictValidate ? { strictValidate: true } : {}),
        runMode,
        ...(launcherFile ? { launcher: launcherFile } : {}),
        ...(bundled ? { runner: bundled } : {}),
        ...(context.signal ? { signal: context.signal } : {}),
        onProgress: (p) => emit(context, { type: 'progress', step: 'package', ...p }),
        ...(cache ? { reuse: (sha: string) => cache.storePath(sha), digests: cache.digests, bytecode: bytecodeStore(cache), onLinked: (p: string) => linked.add(p) } : {}),
        // Written before the bundle is published, and published with it (both or neither).
        ...(options.singleFile ? { singleFile: { runner: runner! } } : {}),
        ...(options.beforePublish ? { beforePublish: options.beforePublish } : {}),
      });
      const result: PackStepResult = { ...packed, runMode };
      for (const { launcher, reason } of packed.hostOnly) emit(context, { type: 'log', level: 'warn', message: `run mode auto: ${launcher} runs in host mode: ${reason}` });
      const runtime = [...(launcherFile ? [LAUNCHER_PATH] : []), ...(bundled ? [RUNNER_PATH] : [])];
      return { output: result, inputs: async (store: StepCache) => bundleInputs(store, plan, result, runtime, linked) };
    },
  });
}

/** A written bundle's own files, its content adopted into the store first (but what was linked
 * from it, `linked`): deleting or editing one makes the next run a miss. */
async function bundleInputs(cache: StepCache, plan: MergedPlan, result: PackStepResult, runtime: string[], linked: Set<string>): Promise<StepInput[]> {
  // The manifest lists the files as written (with the compiled byte code the plan lacks).
  const manifest = JSON.parse(readFileSync(path.join(result.dir, MANIFEST_NAME), 'utf8')) as Manifest;
  const stored = manifest.files.filter((f) => f.sameAs === undefined && !linked.has(f.path));
  cache.adopt(stored.map((f) => ({ path: path.join(result.dir, f.path), sha256: f.sha256 })));
  const files = [
    path.join(result.dir, MANIFEST_NAME),
    ...[...plan.launchers, ...plan.shims].map((l) => path.join(result.dir, l.path)),
    ...runtime.map((p) => path.join(result.dir, p)),
    ...(runtime.length > 0 ? plan.launchers.map((l) => path.join(result.dir, ENTRIES_DIR, `${l.name}.json`)) : []),
    ...manifest.files.map((f) => path.join(result.dir, f.path)),
    ...(result.singleFile ? [result.singleFile.path] : []),
  ];
  return cache.describe(files);
}

/** Compiled byte code remembered in the step cache: an index per interpreter digest, the .pyc
 * files themselves in its content store. An index saved unchanged (every source's byte code
 * reused, as when the project's script is all an incremental build changed) is not written
 * again: storing it rewrote its record and the digest memo, about 100 ms. */
function bytecodeStore(cache: StepCache): BytecodeStore {
  const keyOf = (interpreterSha: string) => cache.key('bytecode', STEP_VERSIONS.package, { interpreterSha, mode: INVALIDATION_MODE });
  const loaded = new Map<string, CompiledIndex | undefined>();
  return {
    load: async (interpreterSha) => {
      const index = await cache.lookup<CompiledIndex>(keyOf(interpreterSha));
      loaded.set(interpreterSha, index);
      return index;
    },
    save: (interpreterSha, index) => {
      if (!sameIndex(loaded.get(interpreterSha), index)) cache.store(keyOf(interpreterSha), [], index);
    },
    contentPath: (sha) => cache.casPath(sha),
  };
}

function sameIndex(before: CompiledIndex | undefined, after: CompiledIndex): boolean {
  if (before === undefined) return false;
  const keys = Object.keys(after);
  return keys.length === Object.keys(before).length && keys.every((k) => before[k]?.sha256 === after[k]!.sha256 && before[k]?.size === after[k]!.size);
}

export { pack as package };
