#!/usr/bin/env node
// The `sidebundle` command. Exit status: 0 success, 1 failure, 2 bad input, 128 + the signal's
// number when interrupted (130 by Ctrl+C, 143 by SIGTERM), as a shell reports a signal's end.
// Start-up is most of what a quick command costs, so this file loads only what every command
// needs, and a command's module (with its graph: `create` alone brings the pipeline, the image
// code, tar-stream and the native tracer) only when that command runs. spec/cli/startup.spec.ts
// checks what `--version` and `resolve` load; bench/startup.ts times them.
import { SidebundleError, fromSystemError, isSidebundleError } from '../errors';
import { LOG_LEVELS, type LogLevel } from '../model/options';
import { Reporter } from './reporter';
import { shownLines } from './shown';
import { writeToFd } from './write-fd';

type ReporterFor = (level: string | undefined, json: boolean) => Reporter;

/** A command that answers with an exit status of its own (verify: 1 when the bundle changed). */
export interface CommandOutcome {
  reporter: Reporter;
  status: number;
}

interface Command {
  summary: string;
  /** It stops on its own once the signal is aborted (create: it removes what it staged, and the
   * published bundle stays as it was), so main() handles SIGINT and SIGTERM for it. Any other
   * command only reads, or writes its one file in a single synchronous call: those signals keep
   * their default there, and end it at once (a JavaScript handler would run only after the
   * synchronous work it interrupts, which for verify and report is all of it). */
  abortable?: true;
  run(args: string[], reporterFor: ReporterFor, signal: AbortSignal): Promise<Reporter | CommandOutcome>;
}

// The commands, each required inside its handler (a top-level import would load it for every
// command). `typeof import()` is a type only: it emits nothing.
const COMMANDS: Record<string, Command> = {
  create: {
    summary: 'bundle programs into a relocatable directory',
    abortable: true,
    run: (args, reporterFor, signal) => (require('./create') as typeof import('./create')).createCommand(args, reporterFor, signal),
  },
  resolve: {
    summary: 'show what programs load and from where, like ldd',
    run: (args, reporterFor) => (require('./resolve') as typeof import('./resolve')).resolveCommand(args, reporterFor),
  },
  digest: {
    summary: 'fingerprint what a bundle configuration reads, for Nx inputs',
    run: (args, reporterFor) => (require('./digest') as typeof import('./digest')).digestCommand(args, reporterFor),
  },
  verify: {
    summary: 'check a bundle (or its .run) against its manifest.lock',
    run: (args, reporterFor) => (require('./verify') as typeof import('./verify')).verifyCommand(args, reporterFor),
  },
  diff: {
    summary: 'what changed between two bundles',
    run: (args, reporterFor) => (require('./diff') as typeof import('./diff')).diffCommand(args, reporterFor),
  },
  report: {
    summary: 'write an HTML page on what a bundle holds and why',
    run: (args, reporterFor) => (require('./report') as typeof import('./report')).reportCommand(args, reporterFor),
  },
  doctor: {
    summary: 'say why a bundle (or a program) would not run on this machine',
    run: (args, reporterFor) => (require('./doctor') as typeof import('./doctor')).doctorCommand(args, reporterFor),
  },
};

/** The command names, one bundle each (scripts/bundle-cli.js: main.<name>.bundle.js, which bin.js runs). */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

const HELP = `Usage: sidebundle <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary} (sidebundle ${name} --help)`)
  .join('\n')}

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
  const known = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  const json = args.includes('--json');
  const controller = new AbortController();
  let interrupts = 0;
  let interruptedStatus = 130;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts === 1) interruptedStatus = 128 + (signal === 'SIGTERM' ? 15 : 2);
    if (interrupts > 1) process.exit(interruptedStatus);
    controller.abort(new SidebundleError('INTERRUPTED', `interrupted by ${signal}`, { hint: 'nothing was published' }));
  };
  if (known?.abortable) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let reporter = new Reporter('warn', json);
  try {
    if (known !== undefined) {
      const outcome = await known.run(args, (level, asJson) => (reporter = reporterFor(level, asJson)), controller.signal);
      if (outcome instanceof Reporter) return 0;
      reporter = outcome.reporter;
      return outcome.status;
    }
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        writeToFd(1, `${HELP}\n`);
        return command === undefined ? 2 : 0;
      case '-V':
      case '--version':
        writeToFd(1, `${(require('../version') as typeof import('../version')).version()}\n`);
        return 0;
      default:
        throw new SidebundleError('UNKNOWN_COMMAND', `unknown command "${command}"`, {
          input: command,
          kind: 'input',
          hint: 'run sidebundle --help',
        });
    }
  } catch (error) {
    // Once interrupted, whatever a step threw on its way out (an AbortError, a closed stream) is
    // the interruption, not a bug.
    const interrupted = controller.signal.aborted;
    return fail(interrupted && !isSidebundleError(error) ? controller.signal.reason : error, reporter, interrupted ? interruptedStatus : undefined);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Report `error`; the exit status is its own, or `interruptedStatus` after a signal. */
function fail(error: unknown, reporter: Reporter, interruptedStatus: number | undefined): number {
  reporter.clearProgress();
  const known: SidebundleError = isSidebundleError(error)
    ? error
    : fromSystemError(error) ?? new SidebundleError('INTERNAL', (error as Error)?.message ?? String(error), {
        hint: 'this is a bug in sidebundle; rerun with --log-level debug and report it',
        cause: error,
      });
  if (reporter.json) {
    writeToFd(1, `${JSON.stringify({ ok: false, error: known.toJSON() })}\n`);
  } else {
    process.stderr.write(`sidebundle: error[${known.code}]: ${shownLines(known.message)}\n`);
    if (known.hint) process.stderr.write(`  hint: ${shownLines(known.hint)}\n`);
    if (reporter.enabled('debug') && !isSidebundleError(error) && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  }
  return interruptedStatus ?? known.exitCode;
}

/** Run the command line `argv` (without node and the script) and set the exit status. */
export function run(argv: string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`sidebundle: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

/** Where compiled code is kept between runs: per user, beside the step cache. */
function compileCacheDir(): string {
  const { userCacheDir } = require('../util/cache-dir') as typeof import('../util/cache-dir');
  return (require('node:path') as typeof import('node:path')).join(userCacheDir(), 'node-compile-cache');
}

// Node's code cache for the modules a command loads, where this file runs as a script (the Nx
// plugin's runtime inputs run `node .../main.js digest` and `--version`). Node 22.1+ has
// module.enableCompileCache; on Node 20 this is a no-op (bin.js, the shipped command, keeps a
// cache of its own for the bundle, on every Node). Runs after this file's own imports, before
// any command's module. A cache that cannot be made only costs the speed-up: never an error.
function enableCompileCache(): void {
  const { enableCompileCache: enable } = require('node:module') as { enableCompileCache?: (dir?: string) => unknown };
  if (typeof enable !== 'function') return;
  try {
    // Compiled code is code: used only from a directory this user owns and no one else can write.
    const fs = require('node:fs') as typeof import('node:fs');
    const dir = compileCacheDir();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) return;
    enable(dir);
  } catch {
    // a start without the cache
  }
}

// Run as a script (`node dist/lib/cli/main.js`: the Nx plugin, development); the shipped command
// is bin.js, which answers --version itself and runs this file's bundle (or this file, for --help)
// and calls run().
if (require.main === module) {
  enableCompileCache();
  run(process.argv.slice(2));
}
