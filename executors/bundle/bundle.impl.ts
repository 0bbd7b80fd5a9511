// sidebundle:bundle — the whole chain in one target (for project.json users who want one).
import type { ExecutorContext } from '@nx/devkit';

import { bundle } from '../../lib/bundle';
import type { TraceRunner } from '../../lib/model/trace';
import { bundleOptionsOf, normalizeOptions } from '../shared/options';
import { runStep, stepContext } from '../shared/run';
import type { BundleExecutorSchema } from './schema';

export default async function bundleExecutor(options: BundleExecutorSchema, context: ExecutorContext, tracer?: TraceRunner) {
  return runStep(context, async () => {
    const o = normalizeOptions('bundle', options, context);
    const result = await bundle({ name: o.name, ...bundleOptionsOf(o) }, stepContext(o), tracer);
    for (const issue of result.validation.issues) console.warn(`validation: ${issue.message}`);
    console.log(`bundle ${result.name} → ${result.dir} (${result.files} files, manifest ${result.manifestSha256.slice(0, 12)})`);
    if (result.image) console.log(`image ${result.image.digest} → ${Object.values(result.image.outputs).join(', ')}`);
    if (result.report) console.log(`report → ${result.report}`);
  });
}
