// sidebundle:trace — closureFile + trace commands → each root's traced additions (tracedFile),
// and sidebundle.lock beside the configuration: the files outside the workspace the runs added,
// which `sidebundle digest --traced` fingerprints for Nx on every run.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import type { ExecutorContext } from '@nx/devkit';

import { traceGroups, type ResolvedGroup, type TracedGroup } from '../../lib/steps/groups';
import { collectionInputs, lockedPaths, lockFileOf, lockOf, writeLock } from '../../lib/config/lockfile';
import type { EntrySpec } from '../../lib/entries/spec';
import type { TraceRunner } from '../../lib/model/trace';
import { bundleOptionsOf, normalizeOptions, type NormalizedOptions } from '../shared/options';
import { readStepOutput, runStep, stepContext, writeStepOutput } from '../shared/run';
import type { TraceExecutorSchema } from './schema';

export default async function traceExecutor(options: TraceExecutorSchema, context: ExecutorContext, tracer?: TraceRunner) {
  return runStep(context, async () => {
    const o = normalizeOptions('trace', options, context);
    const { groups } = readStepOutput<{ groups: ResolvedGroup[] }>(o.closureFile, o.workspaceRoot, 'resolve');
    // The commands come from this target's configuration, not from the resolve output: editing a
    // trace command must not require resolving again.
    const current = groups.map((g) => ({ ...g, entries: o.entries.filter((e) => g.entries.some((x) => sameEntry(x, e))) }));
    const traced = await traceGroups(current, bundleOptionsOf(o), stepContext(o), tracer);
    const reports = traced.flatMap((t) => t.reports);
    await updateLock(o, groups, traced);
    // What collection looked at is the lock's business, not merge's.
    writeStepOutput(o.tracedFile, { schema: 'sidebundle/traced-groups@1', traced: traced.map(({ collectedFrom: _, ...group }) => group) }, o.workspaceRoot);
    console.log(`traced ${reports.length} command(s): ${traced.reduce((n, t) => n + t.closure.files.length, 0)} files added`);
  });
}

async function updateLock(o: NormalizedOptions, groups: ResolvedGroup[], traced: TracedGroup[]): Promise<void> {
  const paths = lockedPaths(groups.map((g, i) => ({ root: g.closure.root, static: g.closure, traced: traced[i]!.closure, image: g.image })), o.workspaceRoot);
  const collection = collectionInputs(groups.map((g, i) => ({ ...traced[i]!, image: g.image })), o.workspaceRoot);
  const file = lockFileOf(o.configFile ?? path.join(o.workspaceRoot, o.projectRoot));
  // No lock for a bundle to which neither the traces nor collection added a file outside the
  // workspace, unless one exists: collection looks in every root (is this program a JVM's?), and a
  // lock of such probes alone would cost every project a settling run (docs/nx-cache.md).
  if (paths.length === 0 && !existsSync(file)) return;
  const lock = lockOf(await o.cache.describe([...paths, ...collection.paths], collection.listings));
  if (writeLock(file, lock)) console.log(`wrote ${path.relative(o.workspaceRoot, file)} (${Object.keys(lock.files).length} paths and ${Object.keys(lock.listings ?? {}).length} directories outside the workspace)`);
  o.cache.saveMemo();
}

function sameEntry(a: EntrySpec, b: EntrySpec): boolean {
  return a.path === b.path && (a.source === 'image' ? b.source === 'image' && a.image === b.image : b.source === 'host');
}
