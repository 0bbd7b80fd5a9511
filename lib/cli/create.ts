// `sidebundle create`: bundle programs from this machine (or a --trace-root) into a directory.
import { statSync } from 'node:fs';
import * as path from 'node:path';

import { bundle, type BundleResult } from '../bundle';
import { cliOptions, optionNamed } from '../config/options';
import { createHelp } from '../config/options-render';
import { parseHostSpec, parseImageSpec } from '../entries/spec';
import { SidebundleError } from '../errors';
import { LOG_LEVELS } from '../model/options';
import { Reporter } from './reporter';
import { parseAssignment, parseTableOptions } from './options';
import { parseCopyDirSpec } from '../config/config';
import { StepCache } from '../cache/step-cache';
import { userCacheDir } from '../util/cache-dir';

/** The help, generated from the option table (lib/config/options.ts) like the schemas and docs. */
export const CREATE_HELP = createHelp();

export function defaultCacheDir(): string {
  return userCacheDir();
}

export async function createCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter, signal: AbortSignal): Promise<Reporter> {
  const values = parseTableOptions('create', args, cliOptions());
  const reporter = reporterFor(values.logLevel, values.json === true);
  if (values.help) {
    reporter.result(CREATE_HELP, { help: CREATE_HELP });
    return reporter;
  }
  const hostSpecs = values.fromHost ?? [];
  const imageSpecs = values.fromImage ?? [];
  if (hostSpecs.length === 0 && imageSpecs.length === 0) {
    throw new SidebundleError('NO_ENTRIES', 'create needs at least one --from-host or --from-image entry', {
      kind: 'input',
      hint: "e.g. sidebundle create --name jq --from-host /usr/bin/jq --out-dir out",
    });
  }
  for (const option of ['outDir', 'cacheDir', 'traceRoot'] as const) {
    // path.resolve('') is the current directory: an empty value (an unset variable) is a mistake.
    const flag = optionNamed(option)!.flag;
    if (values[option] === '') {
      throw new SidebundleError('BAD_OPTION', `${flag} is empty`, { input: '', kind: 'input', hint: `give ${flag} a directory (an unset shell variable?)` });
    }
  }
  const traceRoot = values.traceRoot === undefined ? undefined : rootDirectory(values.traceRoot);
  const cache = values.noCache ? undefined : new StepCache(values.cacheDir ?? defaultCacheDir());
  const entries = [...hostSpecs.map(parseHostSpec), ...imageSpecs.map(parseImageSpec)];
  const result = await bundle({
    name: values.name ?? (optionNamed('name')!.cliDefault as string),
    entries,
    ...(values.imageBackend ? { imageBackend: values.imageBackend } : {}),
    ...(values.imageTraceBackend ? { imageTraceBackend: values.imageTraceBackend } : {}),
    ...(values.imageAgentCli ? { imageAgentCli: values.imageAgentCli } : {}),
    ...(values.imageAgentBin ? { imageAgentBin: path.resolve(values.imageAgentBin) } : {}),
    ...(values.imageAgentKeepOutput ? { imageAgentKeepOutput: true } : {}),
    outDir: path.resolve(values.outDir ?? (optionNamed('outDir')!.cliDefault as string)),
    ...(traceRoot ? { traceRoot } : {}),
    copyDirs: (values.copyDirs ?? []).map(parseCopyDirSpec),
    setEnv: Object.fromEntries((values.setEnv ?? []).map((s) => parseAssignment(s, '--set-env'))),
    allowGpuLibs: values.allowGpuLibs === true,
    ...(values.node !== undefined ? { node: path.resolve(values.node) } : {}),
    strictValidate: values.strictValidate === true,
    ...(values.runMode ? { runMode: values.runMode } : {}),
    ...(values.emitSingleFile ? { emitSingleFile: true } : {}),
    ...(values.emitOci ? { emitOci: path.resolve(values.emitOci) } : {}),
    ...(values.emitOciArchive ? { emitOciArchive: path.resolve(values.emitOciArchive) } : {}),
    ...(values.push ? { push: values.push } : {}),
    ...(values.ociEntry ? { ociEntry: values.ociEntry } : {}),
    ...(values.report ? { report: true } : {}),
    ...(values.traceBackend ? { traceBackend: values.traceBackend } : {}),
    ...(values.traceTimeout ? { traceTimeoutMs: values.traceTimeout * 1000 } : {}),
    ...(values.traceInclude ? { traceInclude: values.traceInclude } : {}),
    ...(values.allowTraceFailure ? { allowTraceFailure: true } : {}),
    ...(values.allowSecret ? { allowSecret: values.allowSecret } : {}),
    ...(values.collect ? { collect: values.collect } : {}),
    ...(values.collectBudget ? { collectBudget: values.collectBudget } : {}),
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
  if (values.imageAgentKeepRootfs) for (const image of result.images) reporter.warn(`the rootfs of ${image.reference} is ${image.rootfs}`);
  // The first entry the user named (bundled helpers of scripts are entries too, sorted first).
  const first = entries.map((e) => e.name ?? path.posix.basename(e.path))[0];
  report(result, reporter, first, result.report);
  return reporter;
}

function report(result: BundleResult, reporter: Reporter, first: string | undefined, reportPath?: string): void {
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
    `  manifest.lock sha256: ${result.manifestSha256}`,
    ...(result.collected.length ? [`  collected: ${result.collected.map((c) => `${c.family} ${c.files} files, ${formatBytes(c.bytes)}`).join('; ')}`] : []),
    ...(result.singleFile ? [`  single file: ${result.singleFile.path} (${formatBytes(result.singleFile.size)})`] : []),
    ...(result.image ? [imageLine(result.image)] : []),
    ...(reportPath ? [`  report: ${reportPath}`] : []),
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
      ...(reportPath ? { report: reportPath } : {}),
      entries: result.plan.launchers.map((l) => ({ name: l.name, kind: l.kind, launcher: path.join(result.dir, 'bin', l.name) })),
      files: result.files,
      storedBytes: result.storedBytes,
      ...(result.bytecode ? { bytecode: result.bytecode } : {}),
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
