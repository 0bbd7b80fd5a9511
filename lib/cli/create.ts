// `sidebundle create`: bundle programs from this machine (or a --trace-root) into a directory.
import { statSync } from 'node:fs';
import * as path from 'node:path';

import { bundle, type BundleResult } from '../bundle';
import { COLLECT_POLICIES, DEFAULT_COLLECT } from '../collect/family';
import { parseHostSpec, parseImageSpec } from '../entries/spec';
import { SidebundleError } from '../errors';
import { RUN_MODES } from '../package/launcher';
import { LOG_LEVELS, Reporter } from './reporter';
import { oneOf, parseAssignment, parseOptions } from './options';
import { parseCopyDirSpec } from '../config/config';
import { StepCache } from '../cache/step-cache';
import * as os from 'node:os';

export const CREATE_HELP = `Usage: sidebundle create --from-host SPEC [--from-host SPEC ...] [options]

Bundle dynamically linked programs (and #! scripts) with everything they load into a
directory that runs on any x86-64 Linux, whatever its glibc.

Entries:
  --from-host SPEC        PATH[::trace=CMD]: a program on this machine (absolute, relative,
                          or a name found on PATH). trace=CMD runs CMD under the tracer to
                          catch files loaded at run time (shell quoting; trace=--version
                          runs the entry itself with --version).
  --from-image SPEC       [backend://]IMAGE::/abs/path[::trace=CMD]: a program inside an
                          image. IMAGE: docker://REF or podman://REF (an engine), a bare REF
                          (docker, else podman), oci:DIR[:REF], oci-archive:FILE[:REF],
                          docker-archive:FILE[:REF], or registry://HOST/REPO[:TAG|@DIGEST].

Options:
  --name NAME             bundle name (default: bundle)
  --out-dir DIR           where the bundle directory goes (default: target/bundles)
  --trace-root DIR        read entries and their libraries inside DIR instead of /
  --copy-dir SRC[:DEST]   copy a directory tree into the payload (DEST: absolute path there)
  --set-env KEY=VALUE     set a variable in every launcher; \${SIDEBUNDLE_ROOT} in VALUE is
                          the bundle directory at run time
  --trace-backend B       off|auto|ptrace|fanotify|combined (default: auto; auto falls back
                          to ptrace, then off, and says why)
  --trace-timeout SECS    kill a trace command (and all it started) after SECS (default 60)
  --trace-include PATH    ship PATH even where the trace policy leaves it out (repeatable)
  --allow-trace-failure   keep a trace whose command exits non-zero (by default it fails)
  --allow-secret PATH     ship PATH (a file or directory) even though it holds a secret: keys,
                          tokens, credentials are left out otherwise, wherever they are (repeatable)
  --collect P             traced|smart|full: what goes in besides what the trace touched
                          (default: smart = an interpreter's whole standard library, the
                          distributions its traced imports belong to, whole plugin
                          directories up to the budget; full = no budget)
  --collect-budget MIB    size budget per plugin directory under smart (default: 64)
  --image-backend B       engine for bare image references: auto|docker|podman (default: auto)
  --image-trace-backend B off|auto|ptrace|fanotify|combined (traced from the host inside the
                          unpacked image), or agent|agent-combined (the agent runs inside a
                          container of the image; needs an engine). Default: --trace-backend
  --image-agent-cli CMD   the engine command line (e.g. "sudo -n podman")
  --image-agent-bin PATH  the sidebundle-agent binary to run in containers
  --image-agent-keep-output  keep the agent's output directory (for debugging)
  --image-agent-keep-rootfs  print where the unpacked image rootfs is (it stays in the cache)
  --cache-dir DIR         step cache (default: $XDG_CACHE_HOME/sidebundle or ~/.cache/sidebundle)
  --no-cache              do every step, store nothing
  --allow-gpu-libs        bundle GPU/DRM driver libraries (left to the target by default)
  --strict-validate       fail (exit 1, previous bundle kept) when the bundle is not
                          self-contained
  --run-mode M            auto|host|ns|bwrap|chroot: how launchers run programs (default:
                          auto = the payload as / in an unprivileged namespace where the
                          machine allows it, else host). SIDEBUNDLE_RUN_MODE overrides it at
                          run time
  --emit-single-file      also write OUT-DIR/NAME.run: one executable carrying the bundle
  --emit-oci DIR          also write an OCI image layout of the bundle (FROM scratch, one layer)
  --emit-oci-archive FILE also write that image as an oci-archive tar
  --push REF              also push that image to registry://HOST[:PORT]/REPO[:TAG]
  --oci-entry NAME        the entry the image runs (default: the first)
  --log-level L           error|warn|info|debug|trace (default: warn)
  --json                  print one JSON result on stdout and nothing else there
  -h, --help              this help

Exit status: 0 success, 1 failure, 2 bad input.`;

const TRACE_BACKENDS = ['off', 'auto', 'ptrace', 'fanotify', 'combined'] as const;

export function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'sidebundle');
}

export async function createCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter, signal: AbortSignal): Promise<Reporter> {
  const { values } = parseOptions('create', args, {
    'from-host': { type: 'string', multiple: true },
    'from-image': { type: 'string', multiple: true },
    'image-backend': { type: 'string' },
    'image-trace-backend': { type: 'string' },
    'image-agent-cli': { type: 'string' },
    'image-agent-bin': { type: 'string' },
    'image-agent-keep-output': { type: 'boolean' },
    'image-agent-keep-rootfs': { type: 'boolean' },
    name: { type: 'string' },
    'out-dir': { type: 'string' },
    'trace-root': { type: 'string' },
    'copy-dir': { type: 'string', multiple: true },
    'set-env': { type: 'string', multiple: true },
    'trace-backend': { type: 'string' },
    'trace-timeout': { type: 'string' },
    'trace-include': { type: 'string', multiple: true },
    'cache-dir': { type: 'string' },
    'no-cache': { type: 'boolean' },
    'allow-gpu-libs': { type: 'boolean' },
    'allow-trace-failure': { type: 'boolean' },
    'allow-secret': { type: 'string', multiple: true },
    collect: { type: 'string' },
    'collect-budget': { type: 'string' },
    'strict-validate': { type: 'boolean' },
    'run-mode': { type: 'string' },
    'emit-single-file': { type: 'boolean' },
    'emit-oci': { type: 'string' },
    'emit-oci-archive': { type: 'string' },
    push: { type: 'string' },
    'oci-entry': { type: 'string' },
    'log-level': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const reporter = reporterFor(values['log-level'], values.json === true);
  if (values.help) {
    reporter.result(CREATE_HELP, { help: CREATE_HELP });
    return reporter;
  }
  const hostSpecs = values['from-host'] ?? [];
  const imageSpecs = values['from-image'] ?? [];
  if (hostSpecs.length === 0 && imageSpecs.length === 0) {
    throw new SidebundleError('NO_ENTRIES', 'create needs at least one --from-host or --from-image entry', {
      kind: 'input',
      hint: "e.g. sidebundle create --name jq --from-host /usr/bin/jq --out-dir out",
    });
  }
  const traceBackend = oneOf(values['trace-backend'], TRACE_BACKENDS, '--trace-backend', 'auto');
  const timeout = values['trace-timeout'] === undefined ? undefined : Number(values['trace-timeout']);
  if (timeout !== undefined && !(timeout > 0)) {
    throw new SidebundleError('BAD_OPTION', `--trace-timeout ${values['trace-timeout']} is not a positive number of seconds`, {
      input: values['trace-timeout'],
      kind: 'input',
      hint: 'e.g. --trace-timeout 120',
    });
  }
  const collectBudget = values['collect-budget'] === undefined ? undefined : Number(values['collect-budget']);
  if (collectBudget !== undefined && !(collectBudget > 0)) {
    throw new SidebundleError('BAD_OPTION', `--collect-budget ${values['collect-budget']} is not a positive number of MiB`, {
      input: values['collect-budget'],
      kind: 'input',
      hint: 'e.g. --collect-budget 256, or --collect full for no budget',
    });
  }
  for (const option of ['out-dir', 'cache-dir', 'trace-root'] as const) {
    // path.resolve('') is the current directory: an empty value (an unset variable) is a mistake.
    if (values[option] === '') {
      throw new SidebundleError('BAD_OPTION', `--${option} is empty`, { input: '', kind: 'input', hint: `give --${option} a directory (an unset shell variable?)` });
    }
  }
  const traceRoot = values['trace-root'] === undefined ? undefined : rootDirectory(values['trace-root']);
  const cache = values['no-cache'] ? undefined : new StepCache(values['cache-dir'] ?? defaultCacheDir());
  const entries = [...hostSpecs.map(parseHostSpec), ...imageSpecs.map(parseImageSpec)];
  const result = await bundle({
    name: values.name ?? 'bundle',
    entries,
    imageBackend: oneOf(values['image-backend'], ['auto', 'docker', 'podman'] as const, '--image-backend', 'auto'),
    ...(values['image-trace-backend'] ? { imageTraceBackend: oneOf(values['image-trace-backend'], [...TRACE_BACKENDS, 'agent', 'agent-combined'] as const, '--image-trace-backend', 'auto') } : {}),
    ...(values['image-agent-cli'] ? { imageAgentCli: values['image-agent-cli'] } : {}),
    ...(values['image-agent-bin'] ? { imageAgentBin: path.resolve(values['image-agent-bin']) } : {}),
    ...(values['image-agent-keep-output'] ? { imageAgentKeepOutput: true } : {}),
    outDir: path.resolve(values['out-dir'] ?? 'target/bundles'),
    ...(traceRoot ? { traceRoot } : {}),
    copyDirs: (values['copy-dir'] ?? []).map(parseCopyDirSpec),
    setEnv: Object.fromEntries((values['set-env'] ?? []).map((s) => parseAssignment(s, '--set-env'))),
    allowGpuLibs: values['allow-gpu-libs'] === true,
    strictValidate: values['strict-validate'] === true,
    runMode: oneOf(values['run-mode'], RUN_MODES, '--run-mode', 'auto'),
    ...(values['emit-single-file'] ? { emitSingleFile: true } : {}),
    image: {
      ...(values['emit-oci'] ? { ociDir: path.resolve(values['emit-oci']) } : {}),
      ...(values['emit-oci-archive'] ? { ociArchive: path.resolve(values['emit-oci-archive']) } : {}),
      ...(values.push ? { push: values.push } : {}),
      ...(values['oci-entry'] ? { entry: values['oci-entry'] } : {}),
    },
    traceBackend,
    ...(timeout ? { traceTimeoutMs: timeout * 1000 } : {}),
    ...(values['trace-include'] ? { traceInclude: values['trace-include'] } : {}),
    ...(values['allow-trace-failure'] ? { allowTraceFailure: true } : {}),
    ...(values['allow-secret'] ? { allowSecret: values['allow-secret'] } : {}),
    collect: oneOf(values.collect, COLLECT_POLICIES, '--collect', DEFAULT_COLLECT),
    ...(collectBudget ? { collectBudget } : {}),
  }, {
    ...(cache ? { cache } : {}),
    signal,
    onEvent: (event) => {
      if (event.type === 'step') {
        reporter.progress(`${event.step}${event.status === 'hit' ? ' (cached)' : ''}${event.detail ? `: ${event.detail}` : ''}…`);
        reporter.debug(`${event.step}: ${event.status === 'hit' ? 'cache hit' : 'running'}${event.detail ? ` (${event.detail})` : ''}`);
      } else if (event.type === 'progress') {
        reporter.progress(`${event.step}: ${event.done}/${event.total} files${event.bytes ? `, ${formatBytes(event.bytes)}` : ''}`);
      } else if (event.level === 'warn') {
        reporter.warn(event.message);
      } else if (event.level === 'info') {
        reporter.progress(event.message);
        reporter.info(event.message);
      } else {
        reporter.debug(event.message);
      }
    },
  });
  if (values['image-agent-keep-rootfs']) for (const image of result.images) reporter.warn(`the rootfs of ${image.reference} is ${image.rootfs}`);
  // The first entry the user named (bundled helpers of scripts are entries too, sorted first).
  const first = entries.map((e) => e.name ?? path.posix.basename(e.path))[0];
  report(result, reporter, first);
  return reporter;
}

function report(result: BundleResult, reporter: Reporter, first: string | undefined): void {
  for (const d of result.diagnostics) {
    if (d.level === 'warning') reporter.warn(`${d.message}${d.chain ? ` (chain: ${d.chain.join(' -> ')})` : ''}`);
    else reporter.debug(d.message);
  }
  warnSome(reporter, result.plan.missing.map((m) => `library ${m.name} ${m.why ? `unusable (${m.why})` : 'not found'}, needed by ${m.chain.join(' -> ')}`), 'missing libraries', '"missing" in manifest.lock');
  for (const e of result.plan.excluded) reporter.info(`left out ${e.path}: ${e.reason}`);
  for (const t of result.traces) {
    reporter.info(`traced ${t.command.join(' ')} with ${t.backend}: ${t.files.length} paths, exit ${t.exit === null ? 'none' : 'code' in t.exit ? t.exit.code : t.exit.signal}, ${t.durationMs} ms`);
  }
  warnSome(reporter, result.validation.issues.map((issue) => `validation: ${issue.message}`), 'validation issues', '"validation" in --json');

  const entries = result.plan.launchers.map((l) => l.name);
  const human = [
    `bundled ${result.name} → ${result.dir}`,
    `  entries: ${entries.join(', ')}`,
    `  files: ${result.files} (${formatBytes(result.storedBytes)} stored), validation: ${result.validation.ok ? 'ok' : `${result.validation.issues.length} issue(s)`}`,
    ...(result.collected.length ? [`  collected: ${result.collected.map((c) => `${c.family} ${c.files} files, ${formatBytes(c.bytes)}`).join('; ')}`] : []),
    ...(result.singleFile ? [`  single file: ${result.singleFile.path} (${formatBytes(result.singleFile.size)})`] : []),
    ...(result.image ? [imageLine(result.image)] : []),
    `run: ${path.join(result.dir, 'bin', first !== undefined && entries.includes(first) ? first : entries[0] ?? '')} (run mode ${result.runMode})`,
  ].join('\n');
  reporter.result(human, {
    ok: true,
    bundle: {
      name: result.name,
      dir: result.dir,
      manifestSha256: result.manifestSha256,
      runMode: result.runMode,
      ...(result.singleFile ? { singleFile: result.singleFile } : {}),
      ...(result.image ? { image: result.image } : {}),
      entries: result.plan.launchers.map((l) => ({ name: l.name, kind: l.kind, launcher: path.join(result.dir, 'bin', l.name) })),
      files: result.files,
      storedBytes: result.storedBytes,
      validation: result.validation,
      collected: result.collected,
      missing: result.plan.missing,
      excluded: result.plan.excluded,
      diagnostics: result.diagnostics,
      images: result.images.map((i) => ({ reference: i.reference, digest: i.digest, rootfs: i.rootfs })),
      traces: result.traces.map((t) => ({ command: t.command, backend: t.backend, exit: t.exit, timedOut: t.timedOut, durationMs: t.durationMs, files: t.files.length, warnings: t.warnings })),
    },
  });
}

/** The image out: digest, where it went, and its size against the source image. */
function imageLine(image: NonNullable<BundleResult['image']>): string {
  const where = [image.outputs.ociDir, image.outputs.ociArchive, image.outputs.pushed].filter(Boolean).join(', ');
  const ratio = image.source && image.ratio ? `; source image ${formatBytes(image.source.bytes)}, ${image.ratio.toFixed(1)}x smaller` : '';
  return `  image: ${image.digest} (entry ${image.entry}, ${formatBytes(image.layerBytes)} compressed${ratio}) → ${where}`;
}

/** --trace-root must name a directory (a root file system), checked before anything runs. */
function rootDirectory(given: string): string {
  const dir = path.resolve(given);
  let problem: string | undefined;
  try {
    if (!statSync(dir).isDirectory()) problem = 'is not a directory';
  } catch (error) {
    problem = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
  }
  if (problem === undefined) return dir;
  throw new SidebundleError('BAD_OPTION', `--trace-root ${given} ${problem}`, {
    input: given,
    kind: 'input',
    hint: 'give the directory of a root file system (an unpacked image, a chroot, a debootstrap tree)',
  });
}

/** Warnings that can number thousands (a hostile or broken input): the first few, then a count
 * and where the whole list is; --log-level debug prints every one. */
const WARN_LIMIT = 10;
function warnSome(reporter: Reporter, lines: string[], what: string, where: string): void {
  const shown = reporter.enabled('debug') ? lines.length : WARN_LIMIT;
  for (const line of lines.slice(0, shown)) reporter.warn(line);
  if (lines.length > shown) reporter.warn(`… and ${lines.length - shown} more ${what} (all in ${where}; --log-level debug prints each)`);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export { LOG_LEVELS };
