// The edge between Nx and the engine: step results are written as portable JSON (paths inside
// the workspace stored as {workspaceRoot}/..., so an output restored into another clone reads
// right), progress goes to the task's terminal output, and a sidebundle error fails the task
// with its message and hint instead of a stack trace.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { logger, type ExecutorContext } from '@nx/devkit';

import { isSidebundleError, SidebundleError } from '../../lib/errors';
import type { MaterializedImage } from '../../lib/image/materialize';
import type { StepContext } from '../../lib/steps/context';
import type { NormalizedOptions } from './options';

const TOKEN = '{workspaceRoot}';

export function writeStepOutput(file: string, value: unknown, workspaceRoot: string): void {
  const text = JSON.stringify(value, null, 1).split(`${workspaceRoot}/`).join(`${TOKEN}/`).split(`"${workspaceRoot}"`).join(`"${TOKEN}"`);
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${text}\n`);
  renameSync(tmp, file);
}

export function readStepOutput<T>(file: string, workspaceRoot: string, producedBy: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new SidebundleError('STEP_INPUT_MISSING', `${file} does not exist`, {
      input: file,
      kind: 'input',
      hint: `run the ${producedBy} target first (the inferred targets depend on it)`,
    });
  }
  return JSON.parse(text.split(`${TOKEN}/`).join(`${workspaceRoot}/`).split(`"${TOKEN}"`).join(`"${workspaceRoot}"`)) as T;
}

/** The images the bundle's entries came from, as resolve recorded them (closureFile): their
 * configuration (Env, Cmd, ...) goes into the image made of the bundle, their layer sizes into the
 * report; manifest.lock has neither. */
export function sourceImagesOf(options: NormalizedOptions): MaterializedImage[] {
  const { groups } = readStepOutput<{ groups: Array<{ image?: MaterializedImage }> }>(options.closureFile, options.workspaceRoot, 'resolve');
  return groups.flatMap((g) => (g.image ? [g.image] : []));
}

export function stepContext(options: NormalizedOptions): StepContext {
  return {
    cache: options.cache,
    onEvent: (event) => {
      if (event.type === 'step') logger.info(`sidebundle ${event.step}: ${event.status === 'hit' ? 'reused from the step cache' : 'running'}${event.detail ? ` (${event.detail})` : ''}`);
      else if (event.type === 'log' && event.level === 'warn') logger.warn(`sidebundle: ${event.message}`);
    },
  };
}

/** Run an executor body; sidebundle errors become a failed task with a readable message. */
export async function runStep(context: ExecutorContext, body: () => Promise<void>): Promise<{ success: boolean }> {
  try {
    await body();
    return { success: true };
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    logger.error(`sidebundle (${context.projectName}:${context.targetName}): ${error.message}`);
    if (error.hint) logger.error(`  hint: ${error.hint}`);
    return { success: false };
  }
}
