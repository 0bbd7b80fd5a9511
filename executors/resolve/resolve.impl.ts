// sidebundle:resolve — entries (host and images) → their ResolvedClosures (closureFile).
import type { ExecutorContext } from '@nx/devkit';

import { resolveGroups } from '../../lib/steps/groups';
import { bundleOptionsOf, normalizeOptions } from '../shared/options';
import { runStep, stepContext, writeStepOutput } from '../shared/run';
import type { ResolveExecutorSchema } from './schema';

export default async function resolveExecutor(options: ResolveExecutorSchema, context: ExecutorContext) {
  return runStep(context, async () => {
    const o = normalizeOptions('resolve', options, context);
    const groups = await resolveGroups(bundleOptionsOf(o), stepContext(o));
    writeStepOutput(o.closureFile, { schema: 'sidebundle/groups@1', groups }, o.workspaceRoot);
    const files = groups.reduce((n, g) => n + g.closure.files.length, 0);
    const missing = groups.reduce((n, g) => n + g.closure.missing.length, 0);
    console.log(`resolved ${o.entries.length} entries in ${groups.length} root(s): ${files} files, ${missing} missing`);
  });
}
