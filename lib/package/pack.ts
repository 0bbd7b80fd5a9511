// The package step: a MergedPlan becomes a bundle directory. Built in a staging sibling, checked
// by the validator, then published atomically: a failure, an invalid bundle under
// --strict-validate or Ctrl+C leaves the previous bundle untouched and nothing half-written.
import { createHash } from 'node:crypto';
import { chmodSync, lutimesSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { DigestMemo } from '../cache/file-digest';
import { SidebundleError } from '../errors';
import type { Diagnostic } from '../model/closure';
import type { LauncherPlan, MergedPlan, PlanFile, PlanSymlink } from '../model/plan';
import { validateBundle, type ValidationReport } from '../validate/validate';
import { version } from '../version';
import type { BytecodeStore } from './bytecode';
import { compilePython, removeScratch, withoutHostBytecode } from './compile-python';
import { writeOutLocales } from './locales';
import { forgetMade, makeParent } from './made-dirs';
import { writeContent, type ContentProgress } from './content';
import { bundleEpoch } from './layout';
import type { RunMode } from '../model/options';
import { ENTRIES_DIR, LAUNCHER_PATH, launcherSpec, renderLauncher } from './launcher';
import { writeRuntime } from './runtime-files';
import { NODE_PRELOAD, NODE_PRELOAD_PATH, usesNodePreload } from '../merge/node-exec-path';
import { buildManifest, DIR_MODE, serializeManifest, type Manifest } from './manifest';
import { outputError } from './output-errors';
import { MANIFEST_NAME, discard, openStaging, publish } from './publish';
import { writeSingleFile, type SingleFileResult } from './single-file';

export interface PackOptions {
  outDir: string;
  /** Validation problems fail the build (the previous bundle stays). */
  strictValidate?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ContentProgress) => void;
  /** Hard-link an existing copy of a content instead of copying (the step cache's store; a
   * path where nothing is means: copy it). */
  reuse?: (sha256: string) => string | undefined;
  /** Digests from the resolve step: unchanged sources are not hashed again. */
  digests?: DigestMemo;
  /** Told the bundle path of each file hard-linked from `reuse` (content.ts). */
  onLinked?: (bundlePath: string) => void;
  /** The one mtime (seconds) of every file, directory and link. Default: SOURCE_DATE_EPOCH,
   * else 2000-01-01 (layout.ts). */
  epoch?: number;
  /** Where compiled Python byte code is remembered (the step cache), so unchanged sources are
   * not compiled again. */
  bytecode?: BytecodeStore;
  /** How launchers run their programs (default host; the package step, lib/steps/package.ts, asks for auto); see launcher.ts. */
  runMode?: RunMode;
  /** The launcher binary (sidebundle-launch) and its sha256: every entry starts through it
   * (needed by every run mode but host; without it, host-mode launchers are sh scripts). */
  launcher?: RuntimeBinary;
  /** The static runner (sidebundle-run) and its sha256: run mode bwrap, which the launcher
   * execs (needed by every run mode but host). */
  runner?: RuntimeBinary;
  /** Also write OUTDIR/NAME.run (the single file, made with this runner), published with the
   * bundle: both or neither. */
  singleFile?: { runner: string };
  /** Called with the staged bundle, complete, just before it is published: what it makes of the
   * bundle (an image) is made before the previous bundle is replaced, and a failure keeps it. */
  beforePublish?: (stagedDir: string) => Promise<void>;
}

export interface RuntimeBinary {
  path: string;
  sha256: string;
}

export interface PackResult {
  dir: string;
  name: string;
  /** sha256 of manifest.lock: the identity of the bundle. */
  manifestSha256: string;
  files: number;
  storedBytes: number;
  validation: ValidationReport;
  /** Launchers that run in host mode although the bundle's mode is auto, and why. */
  hostOnly: Array<{ launcher: string; reason: string }>;
  singleFile?: SingleFileResult;
  /** Python byte code shipped: compiled in this run, and taken from the step cache. */
  bytecode?: { compiled: number; reused: number };
  /** What the package step found (an unreadable locale-archive, byte code); in manifest.lock too. */
  diagnostics: Diagnostic[];
}

/** A failure of the beforePublish hook: passed on as it is, not taken for one of the bundle's
 * output directory. */
class NotOurs {
  constructor(readonly error: unknown) {}
}

export async function packBundle(plan: MergedPlan, options: PackOptions): Promise<PackResult> {
  const staging = openStaging(options.outDir, plan.name, { singleFile: options.singleFile !== undefined });
  try {
    const epoch = options.epoch ?? bundleEpoch();
    const payload = await stagePayload(staging.dir, plan, options, epoch);
    plan = payload.plan;
    const runMode = options.runMode ?? 'host';
    const { modes, hostOnly } = runModesOf(plan, runMode);
    const runtime = await writeRuntime(staging.dir, options, runMode, epoch);
    const written = stageLaunchers(staging.dir, plan, modes, runtime, epoch);

    options.signal?.throwIfAborted();
    const validation = validateBundle(staging.dir, plan);
    if (!validation.ok && options.strictValidate) {
      throw new SidebundleError('VALIDATION_FAILED', `the bundle ${plan.name} is not self-contained: ${validation.issues.length} problem(s), first: ${validation.issues[0]!.message}`, {
        input: plan.name,
        hint: 'the previous bundle was kept; see the issues (--log-level debug or --json), or drop --strict-validate to publish with warnings',
        details: { issues: validation.issues },
      });
    }
    const withLinks = { ...plan, symlinks: [...plan.symlinks, ...written.binLinks].sort(byPath) };
    const dirs = settleDirectories(staging.dir, epoch);
    const manifest = buildManifest(withLinks, written.files, validation, version(), Object.fromEntries(plan.launchers.map((l, i) => [l.name, modes[i]!])), dirs);
    const manifestText = serializeManifest(manifest);
    writeStaged(staging.dir, MANIFEST_NAME, manifestText, 0o644, epoch);
    utimesSync(staging.dir, epoch, epoch); // adding manifest.lock moved the root's time

    options.signal?.throwIfAborted();
    // The single file is made from the staged bundle (its records are relative paths).
    const singleFile = staging.run && options.singleFile ? await stageSingleFile(staging.dir, options.singleFile.runner, options.launcher?.path, staging.run) : undefined;
    options.signal?.throwIfAborted();
    await options.beforePublish?.(staging.dir).catch((error: unknown) => {
      throw new NotOurs(error);
    });
    options.signal?.throwIfAborted();
    publish(staging);
    // Removing the previous bundle unlinked the content-store inodes it shared with this one,
    // which moved their ctime: the memo carries what this run verified over to the new states,
    // or describing the bundle for the step cache would hash every one of them again.
    for (const file of payload.stored) options.digests?.carryOver(path.join(staging.finalDir, file.path), file.sha256);
    const { compiled, reused } = payload.bytecode;
    return {
      dir: staging.finalDir,
      name: plan.name,
      manifestSha256: sha256(manifestText),
      files: plan.files.length,
      storedBytes: payload.storedBytes,
      validation,
      hostOnly,
      ...(singleFile && staging.run ? { singleFile: { ...singleFile, path: staging.run.final } } : {}),
      ...(compiled + reused > 0 ? { bytecode: { compiled, reused } } : {}),
      diagnostics: payload.diagnostics,
    };
  } catch (thrown) {
    discard(staging);
    const error = thrown instanceof NotOurs ? thrown.error : thrown;
    if (options.signal?.aborted && !(error instanceof SidebundleError)) {
      throw new SidebundleError('INTERRUPTED', `packaging ${plan.name} was interrupted`, {
        input: plan.name,
        hint: 'nothing was published; the previous bundle (if any) is unchanged',
        cause: error,
      });
    }
    if (thrown instanceof NotOurs) throw error; // the hook's, about its own outputs
    throw outputError(error, path.dirname(staging.finalDir));
  } finally {
    forgetMade(staging.dir);
  }
}

/** The payload staged: the plan's files, directories and links, then the Python byte code the
 * staged interpreters compile. Returns the plan with the byte code among its files. */
async function stagePayload(dir: string, plan: MergedPlan, options: PackOptions, epoch: number): Promise<{ plan: MergedPlan; storedBytes: number; stored: PlanFile[]; bytecode: { compiled: number; reused: number }; diagnostics: Diagnostic[] }> {
  const contentOptions = {
    epoch,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.reuse ? { reuse: options.reuse } : {}),
    ...(options.digests ? { digests: options.digests } : {}),
    ...(options.onLinked ? { onLinked: options.onLinked } : {}),
  };
  const { files: hostFiles, interpreters } = withoutHostBytecode(plan);
  // Each bundled locale-archive's locales as directories too (LOCPATH in host mode: locales.ts).
  const localeScratch = path.join(dir, '.sidebundle-locales');
  const { files: localeFiles, diagnostics: localeDiagnostics } = writeOutLocales(hostFiles, plan, localeScratch);
  const sourceFiles = [...hostFiles, ...localeFiles];
  const sources = await writeContent(dir, sourceFiles, contentOptions);
  removeScratch(localeScratch);
  for (const sub of plan.dirs) mkdirSync(path.join(dir, sub), { recursive: true });
  for (const link of plan.symlinks) stageLink(dir, link, epoch);
  // Byte code is compiled by the staged interpreters, so it is written once the payload (files
  // and links) is staged; a .pyc never has another file's content (it names its own source
  // path), so two writes place files as one would.
  const bytecode = await compilePython(dir, { files: sourceFiles, symlinks: plan.symlinks }, interpreters, options.bytecode);
  const compiled = await writeContent(dir, bytecode.files, contentOptions);
  removeScratch(bytecode.scratch);
  return {
    plan: { ...plan, files: [...sourceFiles, ...bytecode.files].sort(byPath), diagnostics: [...plan.diagnostics, ...localeDiagnostics, ...bytecode.diagnostics] },
    storedBytes: sources.bytes + compiled.bytes,
    stored: [...sources.stored, ...compiled.stored],
    bytecode: { compiled: bytecode.compiled, reused: bytecode.reused },
    diagnostics: [...localeDiagnostics, ...bytecode.diagnostics],
  };
}

/** Each launcher's run mode: the bundle's, except that auto falls back to host for a payload
 * with files where the payload-as-root modes mount the host's directories. */
function runModesOf(plan: MergedPlan, runMode: RunMode): { modes: RunMode[]; hostOnly: PackResult['hostOnly'] } {
  const hostOnly: PackResult['hostOnly'] = [];
  const modeOf = (launcher: LauncherPlan): RunMode => {
    if (runMode === 'host') return runMode;
    const hidden = hiddenByHost(plan, launcher.payload);
    if (hidden === undefined) return runMode;
    const reason = `its payload has ${hidden}, under a directory the payload-as-root modes take from the host at run time`;
    if (runMode !== 'auto') {
      throw new SidebundleError('RUN_MODE_UNSUITABLE', `run mode ${runMode} cannot run ${launcher.name}: ${reason}`, {
        input: launcher.name,
        kind: 'input',
        hint: `install the program outside /${HOST_DIRS.join(', /')} before bundling, or use --run-mode auto (host mode for this entry) or host`,
      });
    }
    hostOnly.push({ launcher: launcher.name, reason });
    return 'host';
  };
  return { modes: plan.launchers.map(modeOf), hostOnly };
}

/**
 * bin/, exec/ and runtime/. With the launcher, entries start through it: bin/NAME links to it
 * and runtime/entries/NAME.json describes the entry. exec/ shims stand in for programs in host
 * mode only (where GIT_EXEC_PATH points at them) and stay sh scripts.
 */
function stageLaunchers(dir: string, plan: MergedPlan, modes: RunMode[], runtime: Manifest['launchers'], epoch: number): { files: Manifest['launchers']; binLinks: PlanSymlink[] } {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const binLinks: PlanSymlink[] = [];
  const launchers = plan.launchers.map((launcher, i) => {
    if (runtime.length === 0) return writeStaged(dir, launcher.path, renderLauncher(launcher), 0o755, epoch);
    const link = { path: launcher.path, target: path.posix.relative(path.posix.dirname(launcher.path), LAUNCHER_PATH) };
    stageLink(dir, link, epoch);
    binLinks.push(link);
    return writeStaged(dir, `${ENTRIES_DIR}/${launcher.name}.json`, `${JSON.stringify(launcherSpec(launcher, modes[i]!), null, 2)}\n`, 0o644, epoch);
  });
  const shims = plan.shims.map((shim) => writeStaged(dir, shim.path, renderLauncher(shim), 0o755, epoch));
  if (usesNodePreload([...plan.launchers, ...plan.shims])) shims.push(writeStaged(dir, NODE_PRELOAD_PATH, NODE_PRELOAD, 0o644, epoch));
  return { files: [...launchers, ...shims, ...runtime], binLinks };
}

/** A file of the bundle's own (launcher, entry description, manifest) written at the fixed time. */
function writeStaged(dir: string, relative: string, text: string, mode: number, epoch: number): Manifest['launchers'][number] {
  const at = path.join(dir, relative);
  makeParent(dir, at);
  writeFileSync(at, text);
  chmodSync(at, mode); // the mode given, whatever the umask (writeFileSync's is masked by it)
  utimesSync(at, epoch, epoch);
  return { path: relative, sha256: sha256(text), size: Buffer.byteLength(text), mode: mode.toString(8).padStart(4, '0') };
}

function stageLink(dir: string, link: PlanSymlink, epoch: number): void {
  const at = path.join(dir, link.path);
  makeParent(dir, at);
  symlinkSync(link.target, at);
  lutimesSync(at, epoch, epoch);
}

function byPath<T extends { path: string }>(a: T, b: T): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

async function stageSingleFile(bundleDir: string, runner: string, launcher: string | undefined, run: { staged: string; final: string }): Promise<SingleFileResult> {
  try {
    return await writeSingleFile(bundleDir, runner, run.staged, { launcher });
  } catch (error) {
    throw outputError(error, path.dirname(run.final), `cannot write the single file ${run.final}`);
  }
}

/** Top-level directories that ns, bwrap and chroot take from the host (HOST_ALWAYS in
 * native/nolibc/src/plan.rs): payload files there would be hidden. */
export const HOST_DIRS = ['proc', 'dev', 'sys', 'tmp', 'run', 'home', 'root', 'mnt', 'media', 'srv'];

function hiddenByHost(plan: MergedPlan, payload: string): string | undefined {
  const prefixes = HOST_DIRS.map((d) => `${payload}/${d}/`);
  const under = (p: string) => prefixes.some((prefix) => p.startsWith(prefix));
  const hit = plan.files.find((f) => under(f.path)) ?? plan.symlinks.find((l) => under(l.path));
  return hit && hit.path.slice(payload.length);
}

/** Every directory (the root included) gets mode 0755, whatever the umask it was made under (a
 * 0700 one locks out every other user, a group-writable one lets others add files), and the fixed
 * time, last: creating entries in it changed that. Returns the directories below the root (the
 * manifest's `dirs`). */
function settleDirectories(root: string, epoch: number, rel = '', out: string[] = []): string[] {
  const dir = rel === '' ? root : path.join(root, rel);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const sub = rel === '' ? entry.name : `${rel}/${entry.name}`;
    out.push(sub);
    settleDirectories(root, epoch, sub, out);
  }
  chmodSync(dir, DIR_MODE);
  utimesSync(dir, epoch, epoch);
  return out;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
