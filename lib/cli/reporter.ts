// What the CLI says and where: results on stdout (one JSON document with --json, nothing else),
// diagnostics and progress on stderr. Progress is a single rewritten line on a terminal and
// absent otherwise, so CI logs stay quiet and parseable.
// Colours come from node:util styleText (it honours NO_COLOR, FORCE_COLOR and non-terminals):
// chalk 5 does the same but, being ESM loaded through require(), added 16 ms to every start.
import { styleText } from 'node:util';

import { LOG_LEVELS, type LogLevel } from '../model/options';

export class Reporter {
  private progressShown = false;
  readonly interactive: boolean;

  private readonly paint: (format: 'red' | 'yellow' | 'dim' | 'cyan', text: string) => string;

  constructor(
    readonly level: LogLevel,
    readonly json: boolean,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
  ) {
    this.interactive = !json && stderr.isTTY === true && process.env.CI === undefined;
    this.paint = (format, text) => styleText(format, text, { stream: this.stderr });
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(this.level);
  }

  warn(message: string): void {
    this.line('warn', this.paint('yellow', `warning: ${message}`));
  }

  info(message: string): void {
    this.line('info', message);
  }

  debug(message: string): void {
    this.line('debug', this.paint('dim', message));
  }

  /** A transient status line (terminal only). */
  progress(message: string): void {
    if (!this.interactive) return;
    this.stderr.write(`\r\x1b[2K${this.paint('cyan', message)}`);
    this.progressShown = true;
  }

  /** The command's result: JSON with --json, else human text. */
  result(human: string, data: unknown): void {
    this.clearProgress();
    if (this.json) this.stdout.write(`${JSON.stringify(data)}\n`);
    else this.stdout.write(human.endsWith('\n') ? human : `${human}\n`);
  }

  clearProgress(): void {
    if (this.progressShown) {
      this.stderr.write('\r\x1b[2K');
      this.progressShown = false;
    }
  }

  private line(level: LogLevel, text: string): void {
    if (!this.enabled(level)) return;
    this.clearProgress();
    this.stderr.write(`${text}\n`);
  }
}
