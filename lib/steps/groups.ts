// The per-root stages of the pipeline: entries grouped by root (the host "/" or --trace-root,
// and each image materialised to its unpacked rootfs), every group resolved in its own root,
// then traced (natively, or by the agent in a container of its image) and collected. bundle()
// runs them in turn; the Nx resolve, trace and merge executors run them one target each.
import * as path from 'node:path';

import { collect, type CollectOptions, type CollectReads, type CollectResult, type FamilySummary } from '../collect';
import type { EntrySpec } from '../entries/spec';
import { SidebundleError } from '../errors';
import type { MaterializedImage } from '../image/materialize';
import { parseImageReference } from '../image/reference';
import type { ImageStore } from '../image/store';
import { sha256Text } from '../cache/step-cache';
import type { ResolvedClosure } from '../model/closure';
import type { CollectPolicy } from '../model/options';
import type { ImageTraceBackend, TraceBackendRequest, TraceReport, TraceRunner } from '../model/trace';
import { cachedStep } from './cached';
import { digestsOf, emit, type StepContext } from './context';
import { resolve } from './resolve';
import { unionOf } from '../resolve/union';
import { trace } from './trace';

/** The options of the per-root stages (bundle()'s options extend them). */
export interface GroupOptions {
  entries: EntrySpec[];
  /** The bundle's output directory: nothing in it is traced or collected. */
  outDir: string;
  /** Host entries are read inside this directory instead of `/` (--trace-root). */
  traceRoot?: string;
  copyDirs?: Array<{ source: string; dest?: string }>;
  allowGpuLibs?: boolean;
  /** The node program Node entries run with (--node), instead of the one on PATH; host entries only. */
  node?: string;
  traceBackend?: TraceBackendRequest;
  traceTimeoutMs?: number;
  traceInclude?: string[];
  /** Keep a trace whose command exits non-zero (by default the build fails). */
  allowTraceFailure?: boolean;
  /** Ship these secrets (files or directories) where a trace or --copy-dir meets them. */
  allowSecret?: string[];
  /** What goes in besides what the trace touched (lib/collect): traced|smart|full (default smart). */
  collect?: CollectPolicy;
  /** Size budget per plugin directory in MiB under `smart` (default 64). */
  collectBudget?: number;
  /** Base for relative paths and the traced commands' working directory. */
  cwd?: string;
  /** Images: engine for bare references, the engine command line, trace backend, agent. */
  imageBackend?: 'auto' | 'docker' | 'podman';
  imageTraceBackend?: ImageTraceBackend;
  imageAgentCli?: string;
  imageAgentBin?: string;
  imageAgentKeepOutput?: boolean;
  imageStore?: ImageStore;
}

/** Trace commands per entry name, from entry specs. */
export function traceCommandsOf(entries: EntrySpec[]): Array<{ entry: string; command: string[] }> {
  return entries.filter((e) => e.trace !== undefined).map((e) => ({ entry: e.name ?? path.posix.basename(e.path), command: e.trace! }));
}

/** One root's entries: the host (or --trace-root), or one image. */
export interface Group {
  root: string;
  entries: EntrySpec[];
  image?: MaterializedImage;
}

/** The resolve phase: images materialised, each group resolved in its own root. */
export interface ResolvedGroup {
  entries: EntrySpec[];
  image?: MaterializedImage;
  closure: ResolvedClosure;
}

/** The trace phase: each group's traced additions (and raw reports), with what collection added
 * for the paths the trace did not take (`collected`, per family). */
export interface TracedGroup {
  closure: ResolvedClosure;
  reports: TraceReport[];
  collected?: FamilySummary[];
  /** What collection looked at (host paths): sidebundle.lock lists it, traced.json does not. */
  collectedFrom?: CollectReads;
}

export async function resolveGroups(options: Omit<GroupOptions, 'outDir'>, context: StepContext = {}): Promise<ResolvedGroup[]> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const out: ResolvedGroup[] = [];
  for (const group of await groupsOf(options, cwd, context)) {
    const closure = await resolve({
      root: group.root,
      entries: group.entries,
      cwd,
      ...(options.copyDirs && !group.image ? { copyDirs: options.copyDirs } : {}),
      ...(options.allowGpuLibs ? { allowGpuLibs: true } : {}),
      ...(options.allowSecret ? { allowSecret: options.allowSecret.map((p) => path.resolve(cwd, p)) } : {}),
      ...(group.image ? { projects: false } : {}),
      // An image's entries keep the image's node: --node is a path on this machine (or --trace-root).
      ...(options.node && !group.image ? { interpreters: { node: path.resolve(cwd, options.node) } } : {}),
    }, context);
    if (group.image) closure.source = `${group.image.reference} (${group.image.digest})`;
    out.push({ entries: group.entries, ...(group.image ? { image: group.image } : {}), closure });
    context.signal?.throwIfAborted();
  }
  return out;
}

export async function traceGroups(groups: ResolvedGroup[], options: Omit<GroupOptions, 'entries'>, context: StepContext = {}, tracer?: TraceRunner): Promise<TracedGroup[]> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const outDir = path.resolve(cwd, options.outDir);
  const out: TracedGroup[] = [];
  for (const group of groups) {
    const { backend, runner } = await traceSetup(group, options, tracer);
    const traced = await trace(group.closure, {
      commands: traceCommandsOf(group.entries),
      backend,
      ...(options.traceTimeoutMs ? { timeoutMs: options.traceTimeoutMs } : {}),
      // Relative to the working directory (the CLI's) or the config file's directory (Nx).
      ...(options.traceInclude ? { include: options.traceInclude.map((p) => path.resolve(cwd, p)) } : {}),
      ...(options.copyDirs && !group.image ? { ownDirs: options.copyDirs.map((c) => path.resolve(cwd, c.source)) } : {}),
      ...(options.allowTraceFailure ? { allowFailure: true } : {}),
      ...(options.allowSecret ? { allowSecret: options.allowSecret.map((p) => path.resolve(cwd, p)) } : {}),
      ...(group.image ? { env: imageEnv(group.image) } : {}),
      exclude: [outDir],
      cwd: group.image ? group.image.config.workingDir ?? '/' : cwd,
    }, context, runner);
    // Collection runs here, after tracing, so the trace executor and bundle() both get it: the
    // traced closure says which interpreter ran and which plugin it loaded.
    const collected = await collectStep([group.closure, traced.closure], {
      ...(options.collect ? { policy: options.collect } : {}),
      ...(options.collectBudget ? { budgetMiB: options.collectBudget } : {}),
      exclude: [outDir],
      ...(options.traceInclude ? { include: options.traceInclude.map((p) => path.resolve(cwd, p)) } : {}),
      ...(options.allowSecret ? { allowSecret: options.allowSecret.map((p) => path.resolve(cwd, p)) } : {}),
      ...(options.copyDirs && !group.image ? { own: options.copyDirs.map((c) => path.resolve(cwd, c.source)) } : {}),
      digests: digestsOf(context),
    }, context);
    for (const s of collected.summary) emit(context, { type: 'log', level: 'info', message: `collect ${s.family}: ${s.files} files, ${(s.bytes / 1048576).toFixed(1)} MiB${s.parts ? ` (${s.parts.map((p) => `${p.part} ${p.files} files, ${(p.bytes / 1048576).toFixed(1)} MiB`).join('; ')})` : ''}` });
    const closure = collected.closure.files.length > 0 || collected.closure.diagnostics.length > 0 ? unionOf(traced.closure.root, [traced.closure, collected.closure]) : traced.closure;
    if (group.closure.source) closure.source = group.closure.source;
    out.push({ closure, reports: traced.reports, ...(collected.summary.length ? { collected: collected.summary } : {}), ...(collected.read.paths.length || collected.read.listings.length ? { collectedFrom: collected.read } : {}) });
    context.signal?.throwIfAborted();
  }
  return out;
}

/**
 * Collection through the step cache, valid while every path it probed or read (absent ones too)
 * and every directory it listed are unchanged — the same record sidebundle.lock keeps for Nx.
 * Without it a no-op rebundle of a Python program walked the standard library and the dpkg
 * database again (about 200 ms). Keyed on what collection decides on (collectionKey), not on
 * every byte of the closures: editing the project's script leaves the interpreter's collection
 * (the standard library, the dpkg database) a hit.
 */
async function collectStep(closures: ResolvedClosure[], options: CollectOptions, context: StepContext): Promise<CollectResult> {
  const { digests: _memo, ...key } = options;
  return cachedStep<CollectResult>(context, {
    step: 'collect',
    options: { closures: collectionKey(closures), ...key },
    run: async () => {
      const output = await collect(closures, options);
      return { output, inputs: (cache) => cache.describe(output.read.paths, output.read.listings) };
    },
  });
}

/**
 * The closures as collection sees them, hashed: paths, kinds, ELF facts, reasons, entries and
 * projects, but not the digest or size of a script or data file. The families decide on paths
 * and ELF facts; where one looks into a file (a package.json beside a script, a RECORD, a
 * .packlist) it reads it through the root, and that read is an input of the cached run, checked
 * by content. ELF files keep digest and size (the node family weighs its runtime by them).
 */
export function collectionKey(closures: ResolvedClosure[]): string {
  const seen = closures.map((c) => ({ ...c, files: c.files.map(({ sha256, size, ...file }) => (file.kind === 'elf' ? { ...file, sha256, size } : file)) }));
  return sha256Text(JSON.stringify(seen));
}

/** The closures merge takes: each group's static closure, then its traced additions if any. */
export function closuresOf(resolved: ResolvedGroup[], traced: TracedGroup[]): ResolvedClosure[] {
  return resolved.flatMap((group, i) => {
    const additions = traced[i]?.closure;
    return additions && (additions.files.length > 0 || additions.excluded.length > 0 || additions.diagnostics.length > 0) ? [group.closure, additions] : [group.closure];
  });
}

/** Host entries in one group; each distinct image in a group of its own (materialised). */
async function groupsOf(options: Omit<GroupOptions, 'outDir'>, cwd: string, context: StepContext): Promise<Group[]> {
  const groups: Group[] = [];
  const host = options.entries.filter((e) => e.source === 'host');
  if (host.length > 0) groups.push({ root: path.resolve(cwd, options.traceRoot ?? '/'), entries: host });
  const byImage = new Map<string, EntrySpec[]>();
  for (const entry of options.entries) {
    if (entry.source !== 'image') continue;
    const list = byImage.get(entry.image) ?? [];
    list.push(entry);
    byImage.set(entry.image, list);
  }
  for (const [reference, entries] of byImage) {
    if (agentMode(options) && parseImageReference(reference).kind !== 'engine') throw agentNeedsEngine(options, reference);
    const resolvedRef = resolveLocalPath(reference, cwd);
    emit(context, { type: 'log', level: 'info', message: `materialising ${reference}` });
    const image = await imageCode().materializeImage(resolvedRef, {
      ...(options.imageStore ? { store: options.imageStore } : {}),
      ...(options.imageAgentCli ? { engineCli: options.imageAgentCli } : {}),
      ...(options.imageBackend ? { engine: options.imageBackend } : {}),
      ...(context.signal ? { signal: context.signal } : {}),
      onProgress: (message) => emit(context, { type: 'log', level: 'info', message }),
    });
    groups.push({ root: image.rootfs, entries, image: { ...image, reference } });
  }
  return groups;
}

/** oci:, oci-archive: and docker-archive: paths are relative to the working directory. */
function resolveLocalPath(reference: string, cwd: string): string {
  const source = parseImageReference(reference);
  if (source.kind === 'oci') return `oci:${path.resolve(cwd, source.dir)}${source.ref ? `:${source.ref}` : ''}`;
  if (source.kind === 'oci-archive' || source.kind === 'docker-archive') return `${source.kind}:${path.resolve(cwd, source.file)}${source.ref ? `:${source.ref}` : ''}`;
  return reference;
}

async function traceSetup(group: { image?: MaterializedImage }, options: Omit<GroupOptions, 'entries'>, tracer: TraceRunner | undefined): Promise<{ backend: TraceBackendRequest; runner?: TraceRunner }> {
  if (!group.image) return { backend: options.traceBackend ?? 'auto', ...(tracer ? { runner: tracer } : {}) };
  const requested = options.imageTraceBackend ?? options.traceBackend ?? 'auto';
  if (requested !== 'agent' && requested !== 'agent-combined') return { backend: requested, ...(tracer ? { runner: tracer } : {}) };
  const source = parseImageReference(group.image.reference);
  if (source.kind !== 'engine') throw agentNeedsEngine(options, group.image.reference);
  const engine = await imageCode().pickEngine(source.engine === 'auto' ? options.imageBackend ?? 'auto' : source.engine, options.imageAgentCli);
  const backend = requested === 'agent' ? 'ptrace' : 'combined';
  const { containerAgentRunner } = require('../trace/container') as typeof import('../trace/container');
  return {
    backend,
    runner: containerAgentRunner({
      engine,
      image: source.image,
      backend,
      ...(options.imageAgentBin ? { agentBin: options.imageAgentBin } : {}),
      ...(options.imageAgentKeepOutput ? { keepOutput: (dir: string) => process.stderr.write(`sidebundle: kept the agent output in ${dir}\n`) } : {}),
    }),
  };
}

/** The image code (registry client, tar-stream, engines), loaded only for image entries: a
 * bundle of host programs does not pay for loading it. */
function imageCode(): typeof import('../image/materialize') & typeof import('../image/engine') {
  return { ...(require('../image/materialize') as typeof import('../image/materialize')), ...(require('../image/engine') as typeof import('../image/engine')) };
}

function agentMode(options: Pick<GroupOptions, 'imageTraceBackend'>): boolean {
  return options.imageTraceBackend === 'agent' || options.imageTraceBackend === 'agent-combined';
}

function agentNeedsEngine(options: Pick<GroupOptions, 'imageTraceBackend'>, reference: string): SidebundleError {
  return new SidebundleError('IMAGE_AGENT_NEEDS_ENGINE', `--image-trace-backend ${options.imageTraceBackend} runs the image in a container engine, and ${reference} is not an engine image`, {
    input: reference,
    kind: 'input',
    hint: 'use a docker:// or podman:// reference, or the default image trace backend (traced from the host inside the unpacked rootfs)',
  });
}

function imageEnv(image: MaterializedImage): Record<string, string> {
  const env: Record<string, string> = { HOME: '/root', LANG: 'C.UTF-8' };
  for (const pair of image.config.env) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}
