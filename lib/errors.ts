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

interface Meaning {
  code: string;
  what: string;
  hint: (path: string) => string;
  kind: ErrorKind;
}

/** Why a directory sidebundle writes in (the output directory, the cache) cannot be written. */
export type DirectoryFault = 'NO_SPACE' | 'READ_ONLY' | 'UNWRITABLE' | 'NOT_A_DIRECTORY';

const FAULT_KIND: Record<DirectoryFault, ErrorKind> = { NO_SPACE: 'failure', READ_ONLY: 'input', UNWRITABLE: 'input', NOT_A_DIRECTORY: 'input' };

const permission = (p: string) => `check the permissions of ${p} (or run as a user who may read and write it)`;

/** What an operating-system error means to a user, the one table of them: `inWriteDir`, what it
 * says when the path is a directory sidebundle writes in (its owner names it: outputError,
 * cacheError); `general`, what it says anywhere else, for those that reach the CLI without a step
 * naming them. EEXIST has no general meaning: outside a directory we write in it is a bug. */
const SYSTEM_ERRORS: Record<string, { inWriteDir?: DirectoryFault; general?: Meaning }> = {
  EACCES: { inWriteDir: 'UNWRITABLE', general: { code: 'PERMISSION_DENIED', what: 'permission denied', hint: permission, kind: 'input' } },
  EPERM: { inWriteDir: 'UNWRITABLE', general: { code: 'PERMISSION_DENIED', what: 'operation not permitted', hint: permission, kind: 'input' } },
  ENOSPC: { inWriteDir: 'NO_SPACE', general: { code: 'NO_SPACE', what: 'no space left on the device', hint: (p) => `free space on the file system that holds ${p}`, kind: 'failure' } },
  EDQUOT: { inWriteDir: 'NO_SPACE', general: { code: 'NO_SPACE', what: 'disk quota exceeded', hint: (p) => `free space within your quota on the file system that holds ${p}`, kind: 'failure' } },
  EROFS: { inWriteDir: 'READ_ONLY', general: { code: 'READ_ONLY_FILE_SYSTEM', what: 'read-only file system', hint: (p) => `choose a writable place instead of ${p}`, kind: 'input' } },
  ENOTDIR: { inWriteDir: 'NOT_A_DIRECTORY', general: { code: 'PATH_NOT_A_DIRECTORY', what: 'a component of the path is not a directory', hint: (p) => `check ${p}`, kind: 'input' } },
  EEXIST: { inWriteDir: 'NOT_A_DIRECTORY' },
  ENOENT: { general: { code: 'PATH_VANISHED', what: 'no such file or directory (it disappeared while sidebundle was working)', hint: (p) => `${p} changed during the run; if it is a virtual or temporary file system, leave it out`, kind: 'input' } },
  ENAMETOOLONG: { general: { code: 'PATH_TOO_LONG', what: 'file name too long', hint: (p) => `shorten ${p}`, kind: 'input' } },
  ELOOP: { general: { code: 'PATH_SYMLINK_LOOP', what: 'too many levels of symbolic links', hint: (p) => `the symlinks at ${p} form a loop; fix or remove them`, kind: 'input' } },
  EISDIR: { general: { code: 'PATH_IS_A_DIRECTORY', what: 'is a directory', hint: (p) => `${p} must be a file`, kind: 'input' } },
  EMFILE: { general: { code: 'TOO_MANY_OPEN_FILES', what: 'too many open files', hint: () => 'raise the open-file limit (ulimit -n)', kind: 'failure' } },
  ENFILE: { general: { code: 'TOO_MANY_OPEN_FILES', what: 'too many open files in the system', hint: () => 'raise the system open-file limit', kind: 'failure' } },
  EIO: { general: { code: 'IO_ERROR', what: 'input/output error', hint: (p) => `the device holding ${p} reported an error; check it`, kind: 'failure' } },
};

const meaningOf = (error: unknown) => {
  const errno = errnoCode(error);
  return errno !== undefined && Object.hasOwn(SYSTEM_ERRORS, errno) ? SYSTEM_ERRORS[errno]! : {};
};

/** An operating-system error as a SidebundleError about the path it names, or undefined for an
 * error the table does not know. */
export function fromSystemError(error: unknown): SidebundleError | undefined {
  const known = meaningOf(error).general;
  if (!known) return undefined;
  const { path, syscall } = error as { path?: string; syscall?: string };
  const where = path ?? 'a file';
  return new SidebundleError(known.code, `cannot ${syscall ?? 'use'} ${where}: ${known.what}`, {
    ...(path ? { input: path } : {}),
    hint: known.hint(where),
    kind: known.kind,
    cause: error,
  });
}

/** A directory sidebundle writes in, as its owner names it to the user. */
export interface WriteDir {
  dir: string;
  /** The error codes' prefix: OUTPUT, CACHE. */
  prefix: string;
  message: string;
  hints: Record<DirectoryFault, string>;
}

/** An operating-system error in a directory sidebundle writes in, as `<prefix>_<fault>` naming the
 * directory; undefined for an error that says nothing about the directory (the caller falls back
 * to fromSystemError, or keeps the error). */
export function fromWriteDirError(error: unknown, at: WriteDir): SidebundleError | undefined {
  const fault = meaningOf(error).inWriteDir;
  if (!fault) return undefined;
  return new SidebundleError(`${at.prefix}_${fault}`, at.message, { input: at.dir, kind: FAULT_KIND[fault], hint: at.hints[fault], cause: error });
}
