// sidebundle:trace — closureFile + trace commands → TracedClosure (tracedFile).
import type { ExecutorContext } from '@nx/devkit';

import { traceCommandsOf } from '../../lib/bundle';
import type { ResolvedClosure } from '../../lib/model/closure';
import { trace, type TraceRunner } from '../../lib/steps/trace';
import { normalizeOptions } from '../shared/options';
import { readStepOutput, runStep, stepContext, writeStepOutput } from '../shared/run';
import type { TraceExecutorSchema } from './schema';

export default async function traceExecutor(options: TraceExecutorSchema, context: ExecutorContext, tracer?: TraceRunner) {
  return runStep(context, async () => {
    const o = normalizeOptions(options, context);
    const closure = readStepOutput<ResolvedClosure>(o.closureFile, o.workspaceRoot, 'resolve');
    const traced = await trace(closure, {
      commands: traceCommandsOf(o.entries),
      backend: o.traceBackend,
      timeoutMs: o.traceTimeoutMs,
      include: o.traceInclude,
      exclude: [o.outDir],
      cwd: o.baseDir,
    }, stepContext(o), tracer);
    writeStepOutput(o.tracedFile, traced, o.workspaceRoot);
    console.log(`traced ${traced.reports.length} command(s): ${traced.closure.files.length} files added, ${traced.closure.excluded.length} left out`);
  });
}
