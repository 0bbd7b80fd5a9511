// The package step's byte-code pass (bytecode.ts has the pieces): before the payload is written,
// the machine's timestamp-based .pyc files leave the plan; once it is staged, each bundled CPython
// compiles its sources (or the store hands back what it compiled before), and the .pyc files
// join the plan beside their sources.
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';

import { sha256File } from '../cache/file-digest';
import type { Diagnostic } from '../model/closure';
import type { MergedPlan, PlanFile } from '../model/plan';
import {
  bytecodeDiagnostic, compileWith, interpretersOf, isHostPyc, pycFile, sourceKey, sourcesFor,
  type BytecodeStore, type CompileJob, type CompiledIndex, type Interpreter,
} from './bytecode';

/** Entries kept per interpreter in the store's index (this build's first). */
const MAX_INDEX_ENTRIES = 50_000;

/** The plan's files without the host's byte code of the interpreters it bundles. */
export function withoutHostBytecode(plan: Pick<MergedPlan, 'files' | 'launchers'>): { files: PlanFile[]; interpreters: Interpreter[] } {
  const interpreters = interpretersOf(plan);
  return { files: plan.files.filter((f) => !interpreters.some((i) => isHostPyc(f.path, i))), interpreters };
}

/**
 * The .pyc files of every interpreter's sources, compiled in `stagingDir` (the payload written)
 * or found in `store`; each file's `source` is where the packager reads it (the scratch
 * directory, removed by the caller with the staging, or the store).
 */
export async function compilePython(
  stagingDir: string,
  plan: Pick<MergedPlan, 'files' | 'symlinks'>,
  interpreters: Interpreter[],
  store: BytecodeStore | undefined,
): Promise<{ files: PlanFile[]; diagnostics: Diagnostic[]; scratch: string; compiled: number; reused: number }> {
  const totals = { compiled: 0, reused: 0 };
  const scratch = path.join(stagingDir, '.sidebundle-bytecode');
  const files: PlanFile[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const [n, interpreter] of interpreters.entries()) {
    const sources = sourcesFor(plan, interpreter, interpreters);
    if (sources.length === 0) continue;
    const known: CompiledIndex = (await store?.load(interpreter.sha256)) ?? {};
    const index: CompiledIndex = {};
    const jobs: CompileJob[] = [];
    let reused = 0;
    for (const source of sources) {
      const key = sourceKey(source, interpreter.payload);
      const hit = known[key];
      const from = hit && store?.contentPath(hit.sha256);
      if (hit && from) {
        files.push(pycFile(source, interpreter, hit, from));
        index[key] = hit;
        reused += 1;
      } else {
        jobs.push({ source, output: path.join(scratch, String(n), `${jobs.length}.pyc`) });
      }
    }
    mkdirSync(path.join(scratch, String(n)), { recursive: true });
    const { failed, error } = jobs.length ? await compileWith(stagingDir, interpreter, jobs) : { failed: [] };
    diagnostics.push(bytecodeDiagnostic(interpreter, jobs.length - failed.length, reused, failed, error));
    totals.reused += reused;
    if (error === undefined) totals.compiled += jobs.length - failed.length;
    if (error !== undefined) continue;
    const failedPaths = new Set(failed.map(([logical]) => logical));
    for (const job of jobs) {
      if (failedPaths.has(job.source.path.slice(interpreter.payload.length))) continue;
      const digest = await sha256File(job.output);
      const compiled = { sha256: digest.sha256, size: digest.size };
      files.push(pycFile(job.source, interpreter, compiled, job.output));
      index[sourceKey(job.source, interpreter.payload)] = compiled;
    }
    const kept = Object.entries(known).filter(([k]) => !(k in index)).slice(0, Math.max(0, MAX_INDEX_ENTRIES - Object.keys(index).length));
    store?.save(interpreter.sha256, { ...index, ...Object.fromEntries(kept) });
  }
  return { files, diagnostics, scratch, compiled: totals.compiled, reused: totals.reused };
}

export function removeScratch(scratch: string): void {
  rmSync(scratch, { recursive: true, force: true });
}
