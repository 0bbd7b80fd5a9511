// The preamble the commands that take operands share (verify DIR, diff A B, report DIR, doctor
// [DIR]): their options plus --json, --log-level and -h/--help parsed with parseOptions' errors,
// the operands counted, the reporter made, and --help answered.
import { parseArgs } from 'node:util';

import { SidebundleError } from '../errors';
import type { CommandOutcome } from './main';
import { badOption, type OptionSpec } from './options';
import type { Reporter } from './reporter';

const COMMON = { json: { type: 'boolean' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

type Values<T extends OptionSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: T & typeof COMMON; strict: true; allowPositionals: true }>>['values'];

export interface CommandShape<T extends OptionSpec> {
  name: string;
  help: string;
  /** The operands' names as the usage line says them; a name in [brackets] may be left out. */
  operands: string[];
  /** The command's own options (the common three are added). */
  options: T;
}

export type Started<T extends OptionSpec> =
  | { helped: CommandOutcome }
  | { helped?: undefined; values: Values<T>; operands: string[]; reporter: Reporter };

/** Parse `args` for the command; with --help, `helped` is the answer to return as it is. */
export function startCommand<T extends OptionSpec>(shape: CommandShape<T>, args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Started<T> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...shape.options, ...COMMON }, strict: true, allowPositionals: true });
  } catch (error) {
    throw badOption(shape.name, args, error);
  }
  const common = parsed.values as { json?: boolean; 'log-level'?: string; help?: boolean };
  const reporter = reporterFor(common['log-level'], common.json === true);
  if (common.help === true) {
    reporter.result(shape.help, { help: shape.help });
    return { helped: { reporter, status: 0 } };
  }
  checkOperandCount(shape, args, parsed.positionals.length);
  return { values: parsed.values as Values<T>, operands: parsed.positionals, reporter };
}

function checkOperandCount(shape: CommandShape<OptionSpec>, args: string[], given: number): void {
  const required = shape.operands.filter((o) => !o.startsWith('[')).length;
  if (given >= required && given <= shape.operands.length) return;
  const usage = shape.operands.join(' ');
  throw new SidebundleError('BAD_OPTION', `${shape.name} takes ${usage} (${given} given)`, {
    input: args.join(' '),
    kind: 'input',
    hint: `sidebundle ${shape.name} ${usage}; run sidebundle ${shape.name} --help`,
  });
}
