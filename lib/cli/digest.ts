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
import { version } from '../version';
import { parseOptions } from './options';
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
  const lines = values.traced ? await tracedFingerprint(configFile, workspaceRoot) : await fingerprint(configFile, workspaceRoot);
  reporter.result(lines.join('\n'), {});
  return reporter;
}

export async function fingerprint(configFile: string, workspaceRoot: string): Promise<string[]> {
  const portable = (p: string) => (p === workspaceRoot ? '{workspaceRoot}' : p.startsWith(`${workspaceRoot}/`) ? `{workspaceRoot}${p.slice(workspaceRoot.length)}` : p);
  const lines = [`sidebundle ${version()}`];
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
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    lines.push(`error ${error.code} ${error.message}`);
  }
  return lines;
}

/** What the paths sidebundle.lock lists hold now, and the names now in the directories it lists
 * (not what it recorded: a re-trace that only updates the recorded digests must leave the hash as
 * it was). */
export async function tracedFingerprint(configFile: string, workspaceRoot: string): Promise<string[]> {
  const lines = [`sidebundle ${version()}`];
  try {
    const lock = readLock(lockFileOf(configFile));
    if (lock === undefined) return [...lines, 'lock absent'];
    const config = readConfigFile(configFile);
    const cache = new StepCache(path.resolve(workspaceRoot, config.cacheDir ?? configDefault<string>('cacheDir')!));
    const outside = (paths: string[]) => paths.filter((p) => !inWorkspaceOrAbove(p, workspaceRoot));
    for (const input of await cache.describe(outside(Object.keys(lock.files)), outside(Object.keys(lock.listings ?? {})))) lines.push(lineOf(input));
    cache.saveMemo();
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    lines.push(`error ${error.code} ${error.message}`);
  }
  return lines;
}

function lineOf(input: StepInput): string {
  return `${input.kind} ${input.path} ${input.kind === 'absent' || input.kind === 'dir' || input.kind === 'other' ? '' : describeInput(input)}`.trimEnd();
}
