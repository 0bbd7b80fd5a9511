// `sidebundle digest --config sidebundle.json`: a fingerprint of everything the resolve step of
// that configuration reads outside the workspace, for Nx `runtime` inputs. It resolves afresh
// (a few milliseconds) and prints each probed path with what is there now: files by sha256
// (through the persistent digest memo, so an unchanged file costs a stat), symlinks by target,
// and absent paths as absent. `--traced` prints the same for the files sidebundle.lock lists
// (what traced runs read outside the workspace). Nothing inside the workspace, nor the
// directories above it, is printed: Nx hashes workspace files through its file inputs (which
// run after a producing build, where a runtime command runs before it), and two clones at
// different paths must print the same. Nx ignores the exit status; errors are printed instead.
import * as path from 'node:path';

import { StepCache } from '../cache/step-cache';
import { configDefault, copyDirsOf, entriesOf, readConfigFile } from '../config/config';
import { describeInput, inWorkspaceOrAbove, lockFileOf, readLock } from '../config/lockfile';
import type { StepInput } from '../cache/step-cache';
import { isSidebundleError } from '../errors';
import { imageIdentity } from '../image/materialize';
import { parseImageReference } from '../image/reference';
import { buildClosure } from '../resolve/closure';
import { packageRoot, version } from '../version';
import { parseOptions } from './options';
import { nowNs, REPLAY_ENV, statesOf, unchangedSince, writeReplay, type ReplayReads } from './replay';
import type { Reporter } from './reporter';

export const DIGEST_HELP = `Usage: sidebundle digest --config PROJECT/sidebundle.json [--traced] [--workspace-root DIR]

Print a fingerprint of the files outside the workspace that the resolve step of a bundle
configuration reads (for Nx "runtime" inputs); with --traced, of the files its sidebundle.lock
lists (what the traced runs read). Files inside the workspace are left to Nx's file inputs.`;

export async function digestCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Promise<Reporter> {
  const { values } = parseOptions('digest', args, {
    config: { type: 'string' },
    'workspace-root': { type: 'string' },
    traced: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const reporter = reporterFor(undefined, false);
  if (values.help || values.config === undefined) {
    reporter.result(DIGEST_HELP, {});
    return reporter;
  }
  const workspaceRoot = path.resolve(values['workspace-root'] ?? process.cwd());
  const configFile = path.resolve(workspaceRoot, values.config);
  const compute = () => (values.traced ? tracedFingerprintOf(configFile, workspaceRoot) : fingerprintOf(configFile, workspaceRoot));
  const replay = process.env[REPLAY_ENV];
  const { lines } = replay ? await computeAndRecord(compute, replay) : await compute();
  reporter.result(textOf(lines), {});
  return reporter;
}

/** The text printed for `lines` (what a replay record holds). */
function textOf(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** What a digest prints, and what that depends on (undefined: it cannot be replayed, as an
 * engine image's identity, which only the engine knows). */
interface Fingerprint {
  lines: string[];
  reads?: ReplayReads;
}

/**
 * Compute, look at the state of what was read, compute again and look again: when nothing the
 * second computation read changed between the two looks, its output is the output for those
 * states, and the record says so. (A single computation could read a file in the middle of an
 * edit; comparing with a first look taken before the second computation rules that out.)
 */
async function computeAndRecord(compute: () => Promise<Fingerprint>, file: string): Promise<Fingerprint> {
  const first = await compute();
  if (first.reads === undefined) return first;
  const before = statesOf(first.reads, nowNs());
  if (before === undefined) return first;
  const second = await compute();
  const after = second.reads && statesOf(second.reads, nowNs());
  if (after !== undefined && unchangedSince(before, after)) writeReplay(file, after, textOf(second.lines));
  return second;
}

/** The files a digest's output depends on whatever the configuration says: the configuration,
 * this sidebundle's version and its digest code (a rebuilt checkout keeps its version). */
function ownReads(configFile: string): string[] {
  return [configFile, path.join(packageRoot(), 'package.json'), __filename];
}

export async function fingerprint(configFile: string, workspaceRoot: string): Promise<string[]> {
  return (await fingerprintOf(configFile, workspaceRoot)).lines;
}

export async function tracedFingerprint(configFile: string, workspaceRoot: string): Promise<string[]> {
  return (await tracedFingerprintOf(configFile, workspaceRoot)).lines;
}

async function fingerprintOf(configFile: string, workspaceRoot: string): Promise<Fingerprint> {
  const portable = (p: string) => (p === workspaceRoot ? '{workspaceRoot}' : p.startsWith(`${workspaceRoot}/`) ? `{workspaceRoot}${p.slice(workspaceRoot.length)}` : p);
  const lines = [`sidebundle ${version()}`];
  let reads: ReplayReads | undefined = { paths: ownReads(configFile), listed: [] };
  try {
    const config = readConfigFile(configFile);
    const projectDir = path.dirname(configFile);
    const root = config.traceRoot === undefined ? '/' : path.resolve(projectDir, config.traceRoot);
    const entries = entriesOf(config, projectDir, configFile);
    const copyDirs = copyDirsOf(config, projectDir);
    const node = config.node === undefined ? undefined : path.resolve(projectDir, config.node);
    lines.push(`config ${JSON.stringify({
      entries: entries.map((e) => ({ ...(e.source === 'image' ? { image: portable(e.image) } : {}), path: e.source === 'host' ? portable(e.path) : e.path, name: e.name })),
      traceRoot: portable(root),
      copyDirs: copyDirs.map((c) => ({ source: portable(c.source), dest: c.dest })),
      allowGpuLibs: config.allowGpuLibs === true,
      ...(node ? { node: portable(node) } : {}),
    })}`);
    const cache = new StepCache(path.resolve(workspaceRoot, config.cacheDir ?? configDefault<string>('cacheDir')!));
    // An image's files are named by its identity (manifest digest, engine image id, archive
    // file digest): what it resolves to inside is fixed by that.
    const archives: string[] = [];
    for (const reference of new Set(entries.flatMap((e) => (e.source === 'image' ? [e.image] : [])))) {
      const source = parseImageReference(reference);
      if (source.kind === 'oci-archive' || source.kind === 'docker-archive') {
        archives.push(source.file); // a host path: fingerprinted below like any file read
        continue;
      }
      const identity = await imageIdentity(reference, { engine: config.imageBackend ?? 'auto', ...(config.imageAgentCli ? { engineCli: config.imageAgentCli } : {}) });
      lines.push(`image ${portable(reference)} ${identity}`);
      reads = undefined;
    }
    const host = entries.filter((e) => e.source === 'host');
    const draft = buildClosure({
      root,
      cwd: projectDir,
      entries: host.map((e) => ({ path: e.path, ...(e.name ? { name: e.name } : {}) })),
      copyDirs,
      ...(config.allowGpuLibs ? { allowGpuLibs: true } : {}),
      ...(node ? { interpreters: { node } } : {}),
    });
    // Paths the resolver read are inside the root; archive files are host paths already.
    const read = [...archives, ...[...draft.fs.probes().keys(), ...draft.files.map((f) => f.from ?? f.path)].map((p) => draft.fs.hostPath(p))];
    for (const input of await cache.describe(read.filter((p) => !inWorkspaceOrAbove(p, workspaceRoot)))) lines.push(lineOf(input));
    cache.saveMemo();
    // Everything the resolver looked at decides the output, inside the workspace too (an entry there
    // names libraries outside it); the directories it listed (copied trees) by their listing.
    if (reads) reads = { paths: [...reads.paths, ...read], listed: draft.fs.reads().listed.map((p) => draft.fs.hostPath(p)) };
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    lines.push(`error ${error.code} ${error.message}`);
    reads = undefined;
  }
  return { lines, ...(reads ? { reads } : {}) };
}

/** What the paths sidebundle.lock lists hold now, and the names now in the directories it lists
 * (not what it recorded: a re-trace that only updates the recorded digests must leave the hash as
 * it was). */
async function tracedFingerprintOf(configFile: string, workspaceRoot: string): Promise<Fingerprint> {
  const lines = [`sidebundle ${version()}`];
  const lockFile = lockFileOf(configFile);
  const own = [...ownReads(configFile), lockFile];
  try {
    const lock = readLock(lockFile);
    if (lock === undefined) return { lines: [...lines, 'lock absent'], reads: { paths: own, listed: [] } };
    const config = readConfigFile(configFile);
    const cache = new StepCache(path.resolve(workspaceRoot, config.cacheDir ?? configDefault<string>('cacheDir')!));
    const outside = (paths: string[]) => paths.filter((p) => !inWorkspaceOrAbove(p, workspaceRoot));
    const files = outside(Object.keys(lock.files));
    const listed = outside(Object.keys(lock.listings ?? {}));
    for (const input of await cache.describe(files, listed)) lines.push(lineOf(input));
    cache.saveMemo();
    return { lines, reads: { paths: [...own, ...files], listed } };
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    return { lines: [...lines, `error ${error.code} ${error.message}`] };
  }
}

function lineOf(input: StepInput): string {
  return `${input.kind} ${input.path} ${input.kind === 'absent' || input.kind === 'dir' || input.kind === 'other' ? '' : describeInput(input)}`.trimEnd();
}
