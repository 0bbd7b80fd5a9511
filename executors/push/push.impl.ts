// sidebundle:push — the image of the bundle in outDir/name → a registry (push). A side effect, so
// the inferred target is never cached and depends on package: Nx restores the bundle from its
// cache, and the image is built again from it. The image is a function of the bundle alone (no
// times, no machine), so this is the digest package's emitOci holds, and no stale layout can be
// pushed.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import type { ExecutorContext } from '@nx/devkit';

import { shipImage } from '../../lib/bundle';
import { SidebundleError } from '../../lib/errors';
import { MANIFEST_NAME } from '../../lib/package/publish';
import { normalizeOptions } from '../shared/options';
import { runStep, sourceImagesOf, stepContext } from '../shared/run';
import type { PushExecutorSchema } from './schema';

export default async function pushExecutor(options: PushExecutorSchema, context: ExecutorContext) {
  return runStep(context, async () => {
    const o = normalizeOptions('push', options, context);
    const where = o.configFile ?? `options of ${context.projectName ?? 'the project'}:${context.targetName ?? 'push'}`;
    if (!o.engine.push) {
      throw new SidebundleError('CONFIG_INVALID', `${where}: "push" (where the image goes) is required`, { input: where, kind: 'input', hint: 'add "push": "registry://HOST[:PORT]/REPO:TAG", or pass --push' });
    }
    const dir = path.join(o.engine.outDir!, o.name);
    if (!existsSync(path.join(dir, MANIFEST_NAME))) {
      throw new SidebundleError('STEP_INPUT_MISSING', `${dir} is not a bundle (no ${MANIFEST_NAME})`, { input: dir, kind: 'input', hint: 'run the package target first (the inferred push target depends on it)' });
    }
    const image = await shipImage(dir, sourceImagesOf(o), { push: o.engine.push, ...(o.engine.ociEntry ? { ociEntry: o.engine.ociEntry } : {}) }, stepContext(o));
    console.log(`pushed ${image!.outputs.pushed}`);
  });
}
