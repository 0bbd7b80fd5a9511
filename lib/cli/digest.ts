// `sidebundle digest --config sidebundle.json`: a fingerprint of everything the resolve step of
// that configuration reads outside the workspace, for Nx `runtime` inputs. It resolves afresh
// (a few milliseconds) and prints each probed path with what is there now: files by sha256
// (through the persistent digest memo, so an unchanged file costs a stat), symlinks by target,
// and absent paths as absent. Paths inside the workspace are printed relative to it, so two
// clones of a workspace print the same. Nx ignores the exit status; errors are printed instead.
import * as path from 'node:path';

import { StepCache } from '../cache/step-cache';
import { copyDirsOf, DEFAULT_CACHE_DIR, entriesOf, readConfigFile } from '../config/config';
import { isSidebundleError } from '../errors';
import { imageIdentity } from '../image/materialize';
import { parseImageReference } from '../image/reference';
import { buildClosure } from '../resolve/closure';
import { version } from '../version';
import { parseOptions } from './options';
import type { Reporter } from './reporter';

export const DIGEST_HELP = `Usage: sidebundle digest --config PROJECT/sidebundle.json [--workspace-root DIR]

Print a fingerprint of the files the resolve step of a bundle configuration reads (for Nx
"runtime" inputs). Paths inside the workspace are printed relative to it.`;

export async function digestCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Promise<Reporter> {
  const { values } = parseOptions('digest', args, {
    config: { type: 'string' },
    'workspace-root': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const reporter = reporterFor(undefined, false);
  if (values.help || values.config === undefined) {
    reporter.result(DIGEST_HELP, {});
    return reporter;
  }
  const workspaceRoot = path.resolve(values['workspace-root'] ?? process.cwd());
  reporter.result((await fingerprint(path.resolve(workspaceRoot, values.config), workspaceRoot)).join('\n'), {});
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
    lines.push(`config ${JSON.stringify({
      entries: entries.map((e) => ({ ...(e.source === 'image' ? { image: portable(e.image) } : {}), path: e.source === 'host' ? portable(e.path) : e.path, name: e.name })),
      traceRoot: portable(root),
      copyDirs: copyDirs.map((c) => ({ source: portable(c.source), dest: c.dest })),
      allowGpuLibs: config.allowGpuLibs === true,
    })}`);
    const cache = new StepCache(path.resolve(workspaceRoot, config.cacheDir ?? DEFAULT_CACHE_DIR));
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
    });
    // Paths the resolver read are inside the root; archive files are host paths already.
    const read = [...archives, ...[...draft.fs.probes().keys(), ...draft.files.map((f) => f.from ?? f.path)].map((p) => draft.fs.hostPath(p))];
    for (const input of await cache.describe(read)) {
      const what = input.kind === 'file' || input.kind === 'listing' ? input.sha256 : input.kind === 'link' ? input.target : '';
      lines.push(`${input.kind} ${portable(input.path)} ${what}`.trimEnd());
    }
    cache.saveMemo();
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    lines.push(`error ${error.code} ${error.message}`);
  }
  return lines;
}
