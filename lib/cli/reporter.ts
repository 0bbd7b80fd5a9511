// What the CLI says and where: results on stdout (one JSON document with --json, nothing else),
// diagnostics and progress on stderr. Progress is a single rewritten line on a terminal and
// absent otherwise, so CI logs stay quiet and parseable.
// Colours come from node:util styleText (it honours NO_COLOR, FORCE_COLOR and non-terminals):
// chalk 5 does the same but, being ESM loaded through require(), added 16 ms to every start.
// Results go to fd 1 by writeSync, and process.stderr is touched only to say something there:
// the first use of either stream loads Node's stream (and, for a pipe or a terminal, net)
// modules, 3 to 5 ms of CPU a command that prints one answer does not need.
import { styleText } from 'node:util';

import { LOG_LEVELS, type LogLevel } from '../model/options';
import { shownLines } from './shown';
import { writeToFd } from './write-fd';

export class Reporter {
  private progressShown = false;

  constructor(
    readonly level: LogLevel,
    readonly json: boolean,
    private readonly errorStream?: NodeJS.WriteStream,
    private readonly resultStream?: NodeJS.WriteStream,
  ) {}

  /** process.stderr unless another stream was given; made on first use. */
  private get stderr(): NodeJS.WriteStream {
    return this.errorStream ?? process.stderr;
  }

  /** Progress lines are shown: on a terminal, outside CI, without --json. */
  get interactive(): boolean {
    return !this.json && this.stderr.isTTY === true && process.env.CI === undefined;
  }

  private paint(format: 'red' | 'yellow' | 'dim' | 'cyan', text: string): string {
    return styleText(format, text, { stream: this.stderr });
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(this.level);
  }

  warn(message: string): void {
    this.line('warn', this.paint('yellow', `warning: ${shownLines(message)}`));
  }

  info(message: string): void {
    this.line('info', shownLines(message));
  }

  debug(message: string): void {
    this.line('debug', this.paint('dim', shownLines(message)));
  }

  /** A transient status line (terminal only). */
  progress(message: string): void {
    if (!this.interactive) return;
    this.stderr.write(`\r\x1b[2K${this.paint('cyan', shownLines(message))}`);
    this.progressShown = true;
  }

  /** The command's result: JSON with --json, else human text. */
  result(human: string, data: unknown): void {
    this.clearProgress();
    const text = this.json ? `${JSON.stringify(data)}\n` : human.endsWith('\n') ? human : `${human}\n`;
    if (this.resultStream) this.resultStream.write(text);
    else writeToFd(1, text);
  }

  clearProgress(): void {
    if (this.progressShown) {
      this.stderr.write('\r\x1b[2K');
      this.progressShown = false;
    }
  }

  /** `text` is painted after its names were made safe to show (shownLines). */
  private line(level: LogLevel, text: string): void {
    if (!this.enabled(level)) return;
    this.clearProgress();
    this.stderr.write(`${text}\n`);
  }
}
