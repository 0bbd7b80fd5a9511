// Options plus positional operands (verify DIR, diff A B), with parseOptions' errors.
import { parseArgs } from 'node:util';

import { SidebundleError } from '../errors';
import type { OptionSpec } from './options';

export function parseWithOperands<T extends OptionSpec>(command: string, args: string[], options: T, operands: string[]): { values: Record<string, string | boolean | Array<string | boolean> | undefined>; operands: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new SidebundleError('BAD_OPTION', `${command}: ${(error as Error).message.replace(/^.*?: /, '')}`, { input: args.join(' '), kind: 'input', hint: `run sidebundle ${command} --help` });
  }
  const help = (parsed.values as Record<string, unknown>).help === true;
  if (!help && parsed.positionals.length !== operands.length) {
    throw new SidebundleError('BAD_OPTION', `${command} takes ${operands.join(' ')} (${parsed.positionals.length} given)`, {
      input: args.join(' '),
      kind: 'input',
      hint: `sidebundle ${command} ${operands.join(' ')}; run sidebundle ${command} --help`,
    });
  }
  return { values: parsed.values, operands: parsed.positionals };
}
