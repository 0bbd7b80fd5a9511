// sidebundle:trace — closureFile + trace commands → each root's traced additions (tracedFile).
import type { ExecutorContext } from '@nx/devkit';

import { traceGroups, type ResolvedGroup } from '../../lib/bundle';
import type { EntrySpec } from '../../lib/entries/spec';
import type { TraceRunner } from '../../lib/steps/trace';
import { bundleOptionsOf, normalizeOptions } from '../shared/options';
import { readStepOutput, runStep, stepContext, writeStepOutput } from '../shared/run';
import type { TraceExecutorSchema } from './schema';

export default async function traceExecutor(options: TraceExecutorSchema, context: ExecutorContext, tracer?: TraceRunner) {
  return runStep(context, async () => {
    const o = normalizeOptions(options, context);
    const { groups } = readStepOutput<{ groups: ResolvedGroup[] }>(o.closureFile, o.workspaceRoot, 'resolve');
    // The commands come from this target's configuration, not from the resolve output: editing a
    // trace command must not require resolving again.
    const current = groups.map((g) => ({ ...g, entries: o.entries.filter((e) => g.entries.some((x) => sameEntry(x, e))) }));
    const traced = await traceGroups(current, bundleOptionsOf(o), stepContext(o), tracer);
    writeStepOutput(o.tracedFile, { schema: 'sidebundle/traced-groups@1', traced }, o.workspaceRoot);
    const reports = traced.flatMap((t) => t.reports);
    console.log(`traced ${reports.length} command(s): ${traced.reduce((n, t) => n + t.closure.files.length, 0)} files added`);
  });
}

function sameEntry(a: EntrySpec, b: EntrySpec): boolean {
  return a.path === b.path && (a.source === 'image' ? b.source === 'image' && a.image === b.image : b.source === 'host');
}
