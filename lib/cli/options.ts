// Command-line parsing on node:util parseArgs, with sidebundle's errors (exit 2, a hint).
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { SidebundleError } from '../errors';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
type Parsed<T extends OptionSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>;

export function parseOptions<T extends OptionSpec>(command: string, args: string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new SidebundleError('BAD_OPTION', `${command}: ${(error as Error).message.replace(/^.*?: /, '')}`, {
      input: args.join(' '),
      kind: 'input',
      hint: `run sidebundle ${command} --help`,
    });
  }
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
