// The bundle configuration as the Nx executors, the inferred targets and `sidebundle digest`
// read it: the CLI's options under the same names (camelCase), as JSON. Entries are CLI specs
// (`"/usr/bin/jq::trace=jq --version"`) or objects (`{ "host": "/usr/bin/jq", "trace": "..." }`).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { parseHostSpec, traceCommand, type EntrySpec } from '../entries/spec';
import { SidebundleError } from '../errors';
import type { TraceBackendRequest } from '../model/trace';

export type EntryConfig = string | { host: string; name?: string; trace?: string | string[] };

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
  strictValidate?: boolean;
  /** Step cache directory, relative to the workspace root (default .nx/cache/sidebundle). */
  cacheDir?: string;
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
    } else if (entry && typeof entry === 'object' && typeof entry.host === 'string') {
      spec = { source: 'host', path: entry.host };
      if (entry.name) spec.name = entry.name;
      if (entry.trace !== undefined) {
        spec.trace = Array.isArray(entry.trace) ? entry.trace : traceCommand(entry.trace, entry.host, `${where} entries[${i}].trace`);
      }
    } else {
      throw new SidebundleError('CONFIG_BAD_ENTRY', `${where}: entries[${i}] is not a program spec`, {
        input: JSON.stringify(entry),
        kind: 'input',
        hint: 'write "PATH[::trace=CMD]" or { "host": PATH, "trace": CMD }',
      });
    }
    if (!spec.path.startsWith('/') && spec.path.includes('/')) spec.path = path.resolve(baseDir, spec.path);
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
  if (config.traceTimeout !== undefined && !(typeof config.traceTimeout === 'number' && config.traceTimeout > 0)) {
    throw new SidebundleError('CONFIG_INVALID', `${where}: traceTimeout must be a positive number of seconds`, { input: String(config.traceTimeout), kind: 'input', hint: 'e.g. "traceTimeout": 120' });
  }
  entriesOf(config, '/', where);
  return config;
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
