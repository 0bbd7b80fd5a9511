#!/usr/bin/env node
// The `sidebundle` command. Exit status: 0 success, 1 failure, 2 bad input, 130 interrupted.
import { SidebundleError, isSidebundleError } from '../errors';
import { version } from '../version';
import { createCommand, CREATE_HELP } from './create';
import { resolveCommand } from './resolve';
import { digestCommand } from './digest';
import { LOG_LEVELS, Reporter, type LogLevel } from './reporter';

const HELP = `Usage: sidebundle <command> [options]

Commands:
  create     bundle programs into a relocatable directory (sidebundle create --help)
  resolve    show what programs load and from where, like ldd (sidebundle resolve --help)
  digest     fingerprint what a bundle configuration reads, for Nx inputs (sidebundle digest --help)

Options:
  -h, --help     this help
  -V, --version  print the version`;

function reporterFor(level: string | undefined, json: boolean): Reporter {
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new SidebundleError('BAD_OPTION', `--log-level ${level} is not one of ${LOG_LEVELS.join(', ')}`, {
      input: level,
      kind: 'input',
      hint: `choose --log-level ${LOG_LEVELS.join('|')}`,
    });
  }
  return new Reporter((level as LogLevel | undefined) ?? 'warn', json);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const json = args.includes('--json');
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    controller.abort(new SidebundleError('INTERRUPTED', `interrupted by ${signal}`, { hint: 'nothing was published' }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let reporter = new Reporter('warn', json);
  try {
    switch (command) {
      case 'create':
        reporter = await createCommand(args, (level, asJson) => (reporter = reporterFor(level, asJson)), controller.signal);
        return 0;
      case 'digest':
        reporter = await digestCommand(args, (level, asJson) => (reporter = reporterFor(level, asJson)));
        return 0;
      case 'resolve':
        reporter = await resolveCommand(args, (level, asJson) => (reporter = reporterFor(level, asJson)));
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      case '-V':
      case '--version':
        process.stdout.write(`${version()}\n`);
        return 0;
      default:
        throw new SidebundleError('UNKNOWN_COMMAND', `unknown command "${command}"`, {
          input: command,
          kind: 'input',
          hint: 'run sidebundle --help',
        });
    }
  } catch (error) {
    return fail(error, reporter, controller.signal.aborted);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function fail(error: unknown, reporter: Reporter, interrupted: boolean): number {
  reporter.clearProgress();
  const known: SidebundleError = isSidebundleError(error)
    ? error
    : new SidebundleError('INTERNAL', (error as Error)?.message ?? String(error), {
        hint: 'this is a bug in sidebundle; rerun with --log-level debug and report it',
        cause: error,
      });
  if (reporter.json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: known.toJSON() })}\n`);
  } else {
    process.stderr.write(`sidebundle: error[${known.code}]: ${known.message}\n`);
    if (known.hint) process.stderr.write(`  hint: ${known.hint}\n`);
    if (reporter.enabled('debug') && !isSidebundleError(error) && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  }
  if (interrupted) return 130;
  return known.exitCode;
}

export { CREATE_HELP };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`sidebundle: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
