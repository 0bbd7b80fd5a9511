// Command-line parsing on node:util parseArgs, with sidebundle's errors (exit 2, a hint).
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { SidebundleError } from '../errors';
import type { OptionSpec as TableOption } from '../config/option-spec';
import type { CliValues } from '../config/options';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
type Parsed<T extends OptionSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>;

export function parseOptions<T extends OptionSpec>(command: string, args: string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (error) {
    throw badOption(command, args, error);
  }
}

/** What parseArgs refused (an unknown option, a missing value), as a BAD_OPTION of `command`. */
export function badOption(command: string, args: string[], error: unknown): SidebundleError {
  return new SidebundleError('BAD_OPTION', `${command}: ${(error as Error).message.replace(/^.*?: /, '')}`, {
    input: args.join(' '),
    kind: 'input',
    hint: `run sidebundle ${command} --help`,
  });
}

/** KEY=VALUE (for --set-env). */
export function parseAssignment(text: string, option: string): [string, string] {
  const eq = text.indexOf('=');
  const key = eq === -1 ? '' : text.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw new SidebundleError('BAD_OPTION', `${option} ${text}: expected KEY=VALUE with a valid variable name`, {
      input: text,
      kind: 'input',
      hint: `e.g. ${option} 'LANG=C.UTF-8'`,
    });
  }
  return [key, text.slice(eq + 1)];
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], option: string, fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new SidebundleError('BAD_OPTION', `${option} ${value} is not one of ${allowed.join(', ')}`, {
    input: value,
    kind: 'input',
    hint: `choose ${option} ${allowed.join('|')}`,
  });
}

/** Parse a command's flags as the option table declares them (lib/config/options.ts): values by
 * option name, numbers checked positive, enumerations checked against their values. */
export function parseTableOptions(command: string, args: string[], options: readonly TableOption[]): CliValues {
  const spec: OptionSpec = {};
  for (const o of options) {
    if (o.flag === undefined) continue;
    spec[o.flag.slice(2)] = { type: o.kind.type === 'boolean' ? 'boolean' : 'string', ...(o.repeatable ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  const { values } = parseOptions(command, args, spec);
  const out: Record<string, unknown> = {};
  for (const o of options) {
    const value = o.flag === undefined ? undefined : (values as Record<string, unknown>)[o.flag.slice(2)];
    if (value === undefined) continue;
    if (o.kind.type === 'number') out[o.name] = positiveNumber(value as string, o.flag!, o.kind.unit, o.default);
    else if (o.kind.type === 'enum') out[o.name] = oneOf(value as string, o.kind.values, o.flag!, value as string);
    else out[o.name] = value;
  }
  return out as CliValues;
}

function positiveNumber(text: string, flag: string, unit: string, example: unknown): number {
  const value = Number(text);
  if (text.trim() !== '' && value > 0 && Number.isFinite(value)) return value;
  throw new SidebundleError('BAD_OPTION', `${flag} ${text} is not a positive number of ${unit}`, {
    input: text,
    kind: 'input',
    hint: `e.g. ${flag} ${typeof example === 'number' ? example * 2 : 10}`,
  });
}
