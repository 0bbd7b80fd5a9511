// sidebundle:resolve — entries → ResolvedClosure (closureFile).
import type { ExecutorContext } from '@nx/devkit';

import { resolve } from '../../lib/steps/resolve';
import { normalizeOptions } from '../shared/options';
import { runStep, stepContext, writeStepOutput } from '../shared/run';
import type { ResolveExecutorSchema } from './schema';

export default async function resolveExecutor(options: ResolveExecutorSchema, context: ExecutorContext) {
  return runStep(context, async () => {
    const o = normalizeOptions(options, context);
    const closure = await resolve({ root: o.traceRoot, entries: o.entries, cwd: o.baseDir, copyDirs: o.copyDirs, allowGpuLibs: o.allowGpuLibs }, stepContext(o));
    writeStepOutput(o.closureFile, closure, o.workspaceRoot);
    console.log(`resolved ${closure.entries.length} entries: ${closure.files.length} files, ${closure.missing.length} missing`);
  });
}
