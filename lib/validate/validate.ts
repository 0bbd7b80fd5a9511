// Validation of a written bundle, as its loader will see it on a machine that has nothing:
// every launcher's program is resolved again inside its payload with the launcher's library
// path, no ld.so.cache and no system directories (the same resolver as the build, pointed at
// the bundle); every other ELF in the payload (hwcaps variants, traced plugins) must find its
// DT_NEEDED there too; and every symbol version an ELF needs (GLIBC_2.34, ...) must be
// defined by the bundled library that provides it.
import { closeSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';

import { hasElfMagic, type ElfInfo } from '../elf';
import { isSidebundleError } from '../errors';
import type { LauncherPlan, MergedPlan, PlanFile } from '../model/plan';
import { buildClosure } from '../resolve/closure';
import { RootFs } from '../resolve/rootfs';
import { searchLibrary, type LoadedObject, type SearchContext } from '../resolve/search';

export interface ValidationIssue {
  code: 'MISSING_LIBRARY' | 'MISSING_VERSION' | 'UNRUNNABLE' | 'TRACED_FILE_LEFT_OUT';
  message: string;
  /** Bundle path of the file with the problem. */
  file: string;
  chain?: string[];
}

export interface ValidationReport {
  ok: boolean;
  checkedFiles: number;
  issues: ValidationIssue[];
}

/** One payload as the validator sees it: its files by logical path, and what is not a defect. */
interface PayloadView {
  payload: string;
  fs: RootFs;
  logical: (bundlePath: string) => string;
  /** Names of libraries deliberately left to the target (GPU drivers): not a bundle defect. */
  excluded: Set<string>;
}

export function validateBundle(bundleDir: string, plan: MergedPlan): ValidationReport {
  const issues: ValidationIssue[] = [];
  let checkedFiles = 0;
  const excluded = new Set(plan.excluded.filter((e) => e.neededName !== undefined).map((e) => e.neededName!));
  for (const { payload } of plan.roots) {
    const view: PayloadView = { payload, fs: new RootFs(path.join(bundleDir, payload)), logical: (p) => p.slice(payload.length), excluded };
    const launchers = plan.launchers.filter((l) => l.payload === payload && l.loader !== undefined);
    for (const launcher of launchers) issues.push(...launcherIssues(view, launcher));
    const checked = payloadIssues(view, plan, launchers);
    checkedFiles += checked.checkedFiles;
    issues.push(...checked.issues);
  }
  issues.push(...leftOutIssues(plan));
  return { ok: issues.length === 0, checkedFiles, issues: dedupe(issues) };
}

/** A launcher's program resolved exactly as its loader will run it: its library path, no
 * ld.so.cache, no system directories. */
function launcherIssues(view: PayloadView, launcher: LauncherPlan): ValidationIssue[] {
  let draft;
  try {
    draft = buildClosure({
      rootFs: view.fs,
      entries: [{ path: launcher.logicalProgram, name: launcher.name }],
      libraryPath: (launcher.libraryPath ?? []).map(view.logical),
      systemDirs: [],
      useLdCache: false,
      scanScripts: false,
      allowGpuLibs: true,
    });
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    return [{ code: 'UNRUNNABLE', message: `${launcher.name}: ${error.message}`, file: launcher.program }];
  }
  return draft.missing.filter((missing) => !view.excluded.has(missing.name)).map((missing) => ({
    code: 'MISSING_LIBRARY',
    message: `${launcher.name}: ${missing.name} (needed by ${missing.chain[missing.chain.length - 1]}) is not found inside the bundle`,
    file: `${view.payload}${missing.chain[missing.chain.length - 1]}`,
    chain: missing.chain,
  }));
}

/** Every ELF of the payload: its libraries (on the launchers' library paths together) and the
 * symbol versions it needs from them. */
function payloadIssues(view: PayloadView, plan: MergedPlan, launchers: LauncherPlan[]): { checkedFiles: number; issues: ValidationIssue[] } {
  const libraryPath: string[] = [];
  for (const launcher of launchers) {
    for (const dir of launcher.libraryPath ?? []) if (!libraryPath.includes(view.logical(dir))) libraryPath.push(view.logical(dir));
  }
  const ctx: SearchContext = {
    fs: view.fs,
    cache: null,
    config: { systemDirs: [], lib: 'lib/x86_64-linux-gnu', platform: 'x86_64', exact: true },
    libraryPath,
    note: () => undefined,
    warn: () => undefined,
  };
  const issues: ValidationIssue[] = [];
  let checkedFiles = 0;
  for (const file of plan.files) {
    if (!file.path.startsWith(`${view.payload}/`)) continue;
    const at = view.logical(file.path);
    const info = mayBeElf(file, view.fs.hostPath(at)) ? elfOrNull(view.fs, at) : null;
    if (info === null) continue;
    checkedFiles += 1;
    const requester: LoadedObject = { path: at, foundAs: at, info, source: 'program', links: [], variants: [] };
    // Files a launcher loads were checked exactly above (RPATH inheritance included).
    const loadedByLauncher = file.reasons.some((r) => LAUNCHER_LOADED.has(r.kind));
    const providers = new Map<string, ElfInfo>();
    for (const needed of info.needed) {
      const found = searchLibrary(needed, requester, ctx);
      if (found) providers.set(needed, found.info);
      else if (!loadedByLauncher && !view.excluded.has(needed)) {
        issues.push({ code: 'MISSING_LIBRARY', message: `${at} needs ${needed}, which is not inside the bundle`, file: file.path });
      }
    }
    issues.push(...versionIssues(info, providers, at, file.path));
  }
  return { checkedFiles, issues };
}

/** The symbol versions an ELF needs that the library providing them does not define. */
function versionIssues(info: ElfInfo, providers: Map<string, ElfInfo>, at: string, file: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const need of info.versionNeeds) {
    const provider = providers.get(need.file);
    if (!provider) continue;
    const absent = need.versions.filter((v) => !provider.versionDefs.includes(v));
    if (absent.length > 0) {
      issues.push({
        code: 'MISSING_VERSION',
        message: `${at} needs ${absent.join(', ')} from ${need.file}, and the bundled ${need.file} does not define ${absent.length > 1 ? 'them' : 'it'}`,
        file,
      });
    }
  }
  return issues;
}

/**
 * Whether a payload file can be an ELF, decided without the reader's error: one the plan calls
 * an ELF is, and any other (data, a script) when its first four bytes, read here from what was
 * staged, are the ELF magic (a script resolve saw may have been replaced by a program since). A
 * Python payload holds thousands of data files, and each made the reader build and throw an
 * error (stack included) that cost more than the read.
 */
function mayBeElf(file: PlanFile, hostPath: string): boolean {
  if (file.kind === 'elf') return true;
  let fd;
  try {
    fd = openSync(hostPath, 'r');
  } catch {
    return true; // the reader says what is wrong with it
  }
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && hasElfMagic(head);
  } catch {
    return true;
  } finally {
    closeSync(fd);
  }
}

function elfOrNull(fs: RootFs, logical: string): ElfInfo | null {
  try {
    return fs.elf(logical);
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    return null;
  }
}

/** Files a traced run read that the trace policy kept out and the target will not provide (a
 * user's home, a temporary directory): the program may fail without them. One issue for all;
 * the trace step's warning names them. */
function leftOutIssues(plan: MergedPlan): ValidationIssue[] {
  const lost = [...new Map(plan.excluded.filter((e) => e.impact === 'lost').map((e) => [e.path, e])).values()];
  if (lost.length === 0) return [];
  const first = lost[0]!;
  const more = lost.length > 1 ? ` and ${lost.length - 1} more` : '';
  return [{
    code: 'TRACED_FILE_LEFT_OUT',
    message: `the traced runs read ${first.path} (${first.reason})${more}, which the bundle leaves out; ship what the program needs with --trace-include PATH`,
    file: first.path,
  }];
}

const LAUNCHER_LOADED = new Set(['entry', 'needed', 'interpreter', 'script-interpreter', 'helper']);

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => (seen.has(i.message) ? false : (seen.add(i.message), true)));
}
