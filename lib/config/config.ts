// The bundle configuration as the Nx executors, the inferred targets and `sidebundle digest`
// read it: the CLI's options under the same names (camelCase), as JSON. Entries are CLI specs
// (`"/usr/bin/jq::trace=jq --version"`) or objects (`{ "host": "/usr/bin/jq", "trace": "..." }`).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { parseHostSpec, parseImageSpec, traceCommand, type EntrySpec } from '../entries/spec';
import { parseImageReference } from '../image/reference';
import { COLLECT_POLICIES, type CollectPolicy } from '../collect/family';
import { SidebundleError } from '../errors';
import { RUN_MODES, type RunMode } from '../package/launcher';
import type { TraceBackendRequest } from '../model/trace';
import { validateEntryName, validateEnvName } from '../model/names';

export type EntryConfig =
  | string
  | { host: string; name?: string; trace?: string | string[] }
  | { image: string; path: string; name?: string; trace?: string | string[] };

export interface BundleConfig {
  name: string;
  entries: EntryConfig[];
  /** Where bundles go, relative to the workspace root (default dist/bundles). */
  outDir?: string;
  traceRoot?: string;
  traceBackend?: TraceBackendRequest;
  /** Seconds before a trace command is killed (default 60). */
  traceTimeout?: number;
  traceInclude?: string[];
  copyDirs?: Array<string | { source: string; dest?: string }>;
  setEnv?: Record<string, string>;
  allowGpuLibs?: boolean;
  /** Keep a trace whose command exits non-zero. */
  allowTraceFailure?: boolean;
  /** Secrets shipped anyway (files or directories, relative to the config file). */
  allowSecret?: string[];
  strictValidate?: boolean;
  /** traced|smart|full: what goes in besides what the trace touched (default smart). */
  collect?: CollectPolicy;
  /** Size budget per plugin directory under smart, MiB (default 64). */
  collectBudget?: number;
  /** auto|host|ns|bwrap|chroot (default auto). */
  runMode?: RunMode;
  /** Also write OUTDIR/NAME.run (single-file bundle). */
  emitSingleFile?: boolean;
  /** Step cache directory, relative to the workspace root (default .nx/cache/sidebundle). */
  cacheDir?: string;
  /** Image entries: engine for bare references, trace backend, engine command line, agent binary. */
  imageBackend?: 'auto' | 'docker' | 'podman';
  imageTraceBackend?: TraceBackendRequest | 'agent' | 'agent-combined';
  imageAgentCli?: string;
  imageAgentBin?: string;
}

export const TRACE_BACKENDS: readonly TraceBackendRequest[] = ['off', 'auto', 'ptrace', 'fanotify', 'combined'];
export const DEFAULT_OUT_DIR = 'dist/bundles';
export const DEFAULT_CACHE_DIR = '.nx/cache/sidebundle';

/** Entries in the engine's form; relative host paths are relative to `baseDir`. */
export function entriesOf(config: Pick<BundleConfig, 'entries'>, baseDir: string, where: string): EntrySpec[] {
  if (!Array.isArray(config.entries) || config.entries.length === 0) {
    throw new SidebundleError('CONFIG_NO_ENTRIES', `${where}: "entries" must list at least one program`, {
      input: where,
      kind: 'input',
      hint: 'e.g. "entries": ["/usr/bin/jq", { "host": "./tool.py", "trace": "./tool.py --selftest" }]',
    });
  }
  return config.entries.map((entry, i) => {
    let spec: EntrySpec;
    if (typeof entry === 'string') {
      spec = parseHostSpec(entry);
    } else if (entry && typeof entry === 'object' && 'host' in entry && typeof entry.host === 'string') {
      spec = { source: 'host', path: entry.host };
    } else if (entry && typeof entry === 'object' && 'image' in entry && typeof entry.image === 'string' && typeof entry.path === 'string') {
      spec = parseImageSpec(`${entry.image}::${entry.path}`);
      // Archive and layout paths are relative to the configuration file.
      const source = parseImageReference(entry.image);
      if (source.kind === 'oci') spec.image = `oci:${path.resolve(baseDir, source.dir)}${source.ref ? `:${source.ref}` : ''}`;
      if (source.kind === 'oci-archive' || source.kind === 'docker-archive') spec.image = `${source.kind}:${path.resolve(baseDir, source.file)}${source.ref ? `:${source.ref}` : ''}`;
    } else {
      throw new SidebundleError('CONFIG_BAD_ENTRY', `${where}: entries[${i}] is not a program spec`, {
        input: JSON.stringify(entry),
        kind: 'input',
        hint: 'write "PATH[::trace=CMD]", { "host": PATH, "trace": CMD } or { "image": REF, "path": /abs/path, "trace": CMD }',
      });
    }
    if (typeof entry === 'object') {
      if (entry.name !== undefined) {
        if (typeof entry.name !== 'string') {
          throw new SidebundleError('CONFIG_BAD_ENTRY', `${where}: entries[${i}].name is not a string`, { input: JSON.stringify(entry.name), kind: 'input', hint: '"name": "my-tool"' });
        }
        validateEntryName(entry.name, `${where} entries[${i}].name`);
        spec.name = entry.name;
      }
      if (entry.trace !== undefined) {
        const trace: unknown = entry.trace;
        if (Array.isArray(trace) ? trace.length === 0 || !trace.every((w) => typeof w === 'string') : typeof trace !== 'string') {
          throw new SidebundleError('CONFIG_BAD_ENTRY', `${where}: entries[${i}].trace must be a command line or a non-empty array of words`, { input: JSON.stringify(trace)?.slice(0, 200), kind: 'input', hint: '"trace": "tool --selftest" or ["tool", "--selftest"]' });
        }
        spec.trace = Array.isArray(trace) ? (trace as string[]) : traceCommand(trace as string, spec.path, `${where} entries[${i}].trace`);
      }
    }
    if (spec.source === 'host' && !spec.path.startsWith('/') && spec.path.includes('/')) spec.path = path.resolve(baseDir, spec.path);
    return spec;
  });
}

/** Check the fields every step reads; errors name the file and the field. */
export function validateConfig(config: BundleConfig, where: string): BundleConfig {
  if (typeof config !== 'object' || config === null) {
    throw new SidebundleError('CONFIG_INVALID', `${where} is not a JSON object`, { input: where, kind: 'input', hint: 'see the README for the format' });
  }
  if (typeof config.name !== 'string' || config.name === '') {
    throw new SidebundleError('CONFIG_INVALID', `${where}: "name" (the bundle name) is required`, { input: where, kind: 'input', hint: 'add "name": "my-tool"' });
  }
  if (config.traceBackend !== undefined && !TRACE_BACKENDS.includes(config.traceBackend)) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: traceBackend "${config.traceBackend}" is not one of ${TRACE_BACKENDS.join(', ')}`, {
      input: String(config.traceBackend),
      kind: 'input',
      hint: `choose ${TRACE_BACKENDS.join('|')}`,
    });
  }
  if (config.runMode !== undefined && !(RUN_MODES as readonly string[]).includes(config.runMode)) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: runMode "${config.runMode}" is not one of ${RUN_MODES.join(', ')}`, {
      input: String(config.runMode),
      kind: 'input',
      hint: `choose ${RUN_MODES.join('|')}`,
    });
  }
  if (config.imageTraceBackend !== undefined && ![...TRACE_BACKENDS, 'agent', 'agent-combined'].includes(config.imageTraceBackend)) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: imageTraceBackend "${config.imageTraceBackend}" is not one of ${[...TRACE_BACKENDS, 'agent', 'agent-combined'].join(', ')}`, {
      input: String(config.imageTraceBackend),
      kind: 'input',
      hint: 'choose off|auto|ptrace|fanotify|combined|agent|agent-combined',
    });
  }
  if (config.collect !== undefined && !(COLLECT_POLICIES as readonly string[]).includes(config.collect)) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: collect "${config.collect}" is not one of ${COLLECT_POLICIES.join(', ')}`, {
      input: String(config.collect),
      kind: 'input',
      hint: `choose ${COLLECT_POLICIES.join('|')}`,
    });
  }
  if (config.collectBudget !== undefined && !(typeof config.collectBudget === 'number' && config.collectBudget > 0)) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: collectBudget must be a positive number of MiB`, { input: String(config.collectBudget), kind: 'input', hint: 'e.g. "collectBudget": 256' });
  }
  if (config.traceTimeout !== undefined && !(typeof config.traceTimeout === 'number' && config.traceTimeout > 0)) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: traceTimeout must be a positive number of seconds`, { input: String(config.traceTimeout), kind: 'input', hint: 'e.g. "traceTimeout": 120' });
  }
  checkFieldTypes(config as unknown as Record<string, unknown>, where);
  if (config.imageBackend !== undefined && !['auto', 'docker', 'podman'].includes(config.imageBackend)) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: imageBackend "${String(config.imageBackend)}" is not one of auto, docker, podman`, { input: String(config.imageBackend), kind: 'input', hint: 'choose auto|docker|podman' });
  }
  if (config.setEnv !== undefined) {
    if (typeof config.setEnv !== 'object' || config.setEnv === null || Array.isArray(config.setEnv)) {
      throw new SidebundleError('CONFIG_INVALID', `${where}: setEnv must be an object of NAME: value`, { input: JSON.stringify(config.setEnv), kind: 'input', hint: 'e.g. "setEnv": { "LANG": "C.UTF-8" }' });
    }
    for (const [key, value] of Object.entries(config.setEnv)) {
      validateEnvName(key, `${where} setEnv`);
      if (typeof value !== 'string') {
        throw new SidebundleError('CONFIG_INVALID', `${where}: setEnv.${key} is not a string`, { input: JSON.stringify(value), kind: 'input', hint: `e.g. "${key}": "value"` });
      }
    }
  }
  entriesOf(config, '/', where);
  return config;
}

/** The JSON type of each plain field (enumerations and entries are checked on their own). */
const FIELD_TYPES: Record<string, 'string' | 'number' | 'boolean' | 'string[]'> = {
  outDir: 'string', traceRoot: 'string', cacheDir: 'string', imageAgentCli: 'string', imageAgentBin: 'string',
  traceTimeout: 'number', collectBudget: 'number',
  allowGpuLibs: 'boolean', allowTraceFailure: 'boolean', strictValidate: 'boolean', emitSingleFile: 'boolean',
  traceInclude: 'string[]', allowSecret: 'string[]',
};

function checkFieldTypes(config: Record<string, unknown>, where: string): void {
  for (const [key, type] of Object.entries(FIELD_TYPES)) {
    const value = config[key];
    if (value === undefined) continue;
    const ok = type === 'string[]' ? Array.isArray(value) && value.every((v) => typeof v === 'string') : type === 'number' ? typeof value === 'number' && Number.isFinite(value) : typeof value === type;
    if (!ok) {
      throw new SidebundleError('CONFIG_INVALID', `${where}: "${key}" must be ${type === 'string[]' ? 'an array of strings' : `a ${type}`}, not ${JSON.stringify(value)?.slice(0, 80)}`, {
        input: where,
        kind: 'input',
        hint: `fix "${key}" in ${where}`,
      });
    }
  }
  const copyDirs = config.copyDirs;
  if (copyDirs !== undefined && !(Array.isArray(copyDirs) && copyDirs.every((c) => typeof c === 'string' || (c !== null && typeof c === 'object' && typeof (c as { source?: unknown }).source === 'string' && ['string', 'undefined'].includes(typeof (c as { dest?: unknown }).dest))))) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: "copyDirs" must list "SRC[:DEST]" strings or { "source": SRC, "dest": DEST } objects`, { input: where, kind: 'input', hint: 'e.g. "copyDirs": ["./share:/opt/app/share"]' });
  }
}

export function readConfigFile(file: string): BundleConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SidebundleError('CONFIG_NOT_FOUND', `cannot read ${file}: ${(error as Error).message}`, { input: file, kind: 'input', hint: 'check the path', cause: error });
  }
  try {
    return validateConfig(JSON.parse(text) as BundleConfig, file);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new SidebundleError('CONFIG_INVALID', `${file} is not valid JSON: ${error.message}`, { input: file, kind: 'input', hint: 'fix the JSON syntax' });
    }
    throw error;
  }
}

export function copyDirsOf(config: Pick<BundleConfig, 'copyDirs'>, baseDir: string): Array<{ source: string; dest?: string }> {
  return (config.copyDirs ?? []).map((c) => {
    const spec = typeof c === 'string' ? parseCopyDirSpec(c) : c;
    return { source: path.resolve(baseDir, spec.source), ...(spec.dest ? { dest: spec.dest } : {}) };
  });
}

/** SRC[:DEST] with DEST absolute. */
export function parseCopyDirSpec(text: string): { source: string; dest?: string } {
  const colon = text.lastIndexOf(':');
  if (colon > 0 && text[colon + 1] === '/') return { source: text.slice(0, colon), dest: text.slice(colon + 1) };
  return { source: text };
}
