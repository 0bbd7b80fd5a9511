// The bundle configuration as the Nx executors, the inferred targets and `sidebundle digest`
// read it: the CLI's options under the same names (camelCase), as JSON. Entries are CLI specs
// (`"/usr/bin/jq::trace=jq --version"`) or objects (`{ "host": "/usr/bin/jq", "trace": "..." }`).
import * as path from 'node:path';

import { parseHostSpec, parseImageSpec, traceCommand, type EntrySpec } from '../entries/spec';
import { parseImageReference } from '../image/reference';
import { SidebundleError } from '../errors';
import { validateEntryName, validateEnvName } from '../model/names';
import { readRegularFile } from '../util/regular-file';
import type { OptionSpec } from './option-spec';
import { CONFIG_OPTIONS, optionNamed, type BundleConfig, type OptionName } from './options';

/** A sidebundle.json's default for an option (the table's). */
export function configDefault<T extends string | number | boolean>(name: OptionName): T | undefined {
  return optionNamed(name)?.default as T | undefined;
}

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
      const allowed = 'host' in entry ? ['host', 'name', 'trace'] : ['image', 'path', 'name', 'trace'];
      const unknown = Object.keys(entry).find((k) => !allowed.includes(k));
      if (unknown !== undefined) {
        const near = closest(unknown, allowed);
        throw new SidebundleError('CONFIG_BAD_ENTRY', `${where}: entries[${i}] has an unknown key "${unknown}"${near ? ` (did you mean ${near}?)` : ''}`, { input: JSON.stringify(entry).slice(0, 200), kind: 'input', hint: `an entry takes ${allowed.join(', ')}` });
      }
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

/** Check a whole sidebundle.json (or the same fields inline): no unknown key, every field of its
 * type in the option table, a name and entries. Errors name the file and the field. */
export function validateConfig(config: BundleConfig, where: string): BundleConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new SidebundleError('CONFIG_INVALID', `${where} is not a JSON object`, { input: where, kind: 'input', hint: 'see docs/options.md for the format' });
  }
  checkOptions(config as unknown as Record<string, unknown>, CONFIG_KEYS, where);
  if (typeof config.name !== 'string' || config.name === '') {
    throw new SidebundleError('CONFIG_INVALID', `${where}: "name" (the bundle name) is required`, { input: where, kind: 'input', hint: 'add "name": "my-tool"' });
  }
  entriesOf(config, '/', where);
  return config;
}

/** sidebundle.json's keys: the options it holds, and "$schema" for editors. */
const CONFIG_KEYS = ['$schema', ...CONFIG_OPTIONS.map((o) => o.name)];

/** Check `values` against the option table: each key one of `allowed` (an unknown one names the
 * closest known one), each value of its option's type. Required fields are the caller's. */
export function checkOptions(values: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(values)) {
    if (allowed.includes(key)) continue;
    const near = closest(key, allowed);
    throw new SidebundleError('CONFIG_INVALID', `${where}: unknown option "${key}"${near ? ` (did you mean ${near}?)` : ''}`, {
      input: key,
      kind: 'input',
      hint: near ? `rename "${key}" to "${near}"` : `remove "${key}"; the options are listed in docs/options.md`,
    });
  }
  for (const [key, value] of Object.entries(values)) {
    const option = optionNamed(key);
    if (option === undefined || value === undefined) continue;
    checkValue(option, value, where);
  }
}

function checkValue(option: OptionSpec, value: unknown, where: string): void {
  const { name, kind } = option;
  const fail = (expected: string, hint: string): never => {
    throw new SidebundleError('CONFIG_INVALID', `${where}: "${name}" must be ${expected}, not ${JSON.stringify(value)?.slice(0, 80)}`, { input: JSON.stringify(value)?.slice(0, 200) ?? String(value), kind: 'input', hint });
  };
  switch (kind.type) {
    case 'string':
      if (typeof value !== 'string') fail('a string', `e.g. "${name}": "..."`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false', `e.g. "${name}": true`);
      return;
    case 'number':
      if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) fail(`a positive number of ${kind.unit}`, `e.g. "${name}": ${option.default ?? 1}`);
      return;
    case 'string[]':
      if (!(Array.isArray(value) && value.every((v) => typeof v === 'string'))) fail('an array of strings', `e.g. "${name}": ["..."]`);
      return;
    case 'enum':
      if (!kind.values.includes(value as string)) {
        throw new SidebundleError('CONFIG_INVALID', `${where}: ${name} "${String(value)}" is not one of ${kind.values.join(', ')}`, { input: String(value), kind: 'input', hint: `choose ${kind.values.join('|')}` });
      }
      return;
    case 'object':
      OBJECT_CHECKS[name]?.(value, where);
  }
}

/** The structured options' shapes (entries are checked by entriesOf, which reads them). */
const OBJECT_CHECKS: Record<string, (value: unknown, where: string) => void> = {
  setEnv(value, where) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SidebundleError('CONFIG_INVALID', `${where}: setEnv must be an object of NAME: value`, { input: JSON.stringify(value), kind: 'input', hint: 'e.g. "setEnv": { "LANG": "C.UTF-8" }' });
    }
    for (const [key, v] of Object.entries(value)) {
      validateEnvName(key, `${where} setEnv`);
      if (typeof v !== 'string') {
        throw new SidebundleError('CONFIG_INVALID', `${where}: setEnv.${key} is not a string`, { input: JSON.stringify(v), kind: 'input', hint: `e.g. "${key}": "value"` });
      }
    }
  },
  copyDirs(value, where) {
    const isDir = (c: unknown) => typeof c === 'string' || (c !== null && typeof c === 'object' && !Array.isArray(c) && typeof (c as { source?: unknown }).source === 'string'
      && ['string', 'undefined'].includes(typeof (c as { dest?: unknown }).dest) && Object.keys(c).every((k) => k === 'source' || k === 'dest'));
    if (!(Array.isArray(value) && value.every(isDir))) {
      throw new SidebundleError('CONFIG_INVALID', `${where}: "copyDirs" must list "SRC[:DEST]" strings or { "source": SRC, "dest": DEST } objects`, { input: where, kind: 'input', hint: 'e.g. "copyDirs": ["./share:/opt/app/share"]' });
    }
  },
};

/** The known name nearest to a mistyped one (edit distance at most a third of its length). */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

export function readConfigFile(file: string): BundleConfig {
  let text: string;
  try {
    text = readRegularFile(file);
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
