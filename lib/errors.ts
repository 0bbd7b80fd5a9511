// The one error type of sidebundle: a stable code, the input it concerns, and a hint that says what
// to do. The CLI maps `kind` to its exit status (2 for bad input, 1 for a failure).

export type ErrorKind = 'input' | 'failure';

export interface SidebundleErrorOptions {
  /** The path, entry spec, option or image reference the error is about. */
  input?: string;
  /** What the user can do about it. */
  hint?: string;
  /** Bad input (exit 2) or a failure while doing the work (exit 1). */
  kind?: ErrorKind;
  cause?: unknown;
  /** Extra machine-readable detail (e.g. the dependency chain that needed a missing library). */
  details?: Record<string, unknown>;
}

export class SidebundleError extends Error {
  readonly code: string;
  readonly input: string | undefined;
  readonly hint: string | undefined;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: SidebundleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SidebundleError';
    this.code = code;
    this.input = options.input;
    this.hint = options.hint;
    this.kind = options.kind ?? 'failure';
    this.details = options.details;
  }

  /** Exit status for the CLI: 2 for bad input, 1 for a failure. */
  get exitCode(): number {
    return this.kind === 'input' ? 2 : 1;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.input === undefined ? {} : { input: this.input }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isSidebundleError(error: unknown): error is SidebundleError {
  return error instanceof SidebundleError;
}

/** The errno code of a Node fs error (`ENOENT`, `ELOOP`, ...), or undefined. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
