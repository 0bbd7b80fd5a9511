// What an option of the table (options.ts) is: its kind, its flag, its defaults, where it is
// accepted. The table itself, the one list of options, is in options.ts.
export const EXECUTORS = ['resolve', 'trace', 'merge', 'package', 'bundle', 'push'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/** A JSON schema fragment (for the option types the simple kinds do not cover). */
export type JsonSchema = { [key: string]: unknown };

export type OptionKind =
  | { type: 'string' }
  | { type: 'boolean' }
  /** A positive number of `unit`. */
  | { type: 'number'; unit: string }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'string[]' }
  /** Structured (entries, copyDirs, setEnv): the JSON form; on the CLI a repeatable string. */
  | { type: 'object'; schema: JsonSchema; summary: string };

export interface OptionSpec {
  readonly name: string;
  readonly kind: OptionKind;
  /** What it does, without its default (the generators append that). */
  readonly description: string;
  /** The CLI flag, if the CLI takes it, and the word for its argument in the help. */
  readonly flag?: string;
  readonly arg?: string;
  readonly short?: string;
  /** Repeatable on the CLI (string[] and object kinds are). */
  readonly repeatable?: boolean;
  /** In sidebundle.json (and so inline in every executor that takes it). */
  readonly config: boolean;
  /** The Nx executors that take it. */
  readonly executors: readonly ExecutorName[];
  readonly default?: string | number | boolean;
  /** The CLI's default where it differs (a directory relative to where it runs, not to a workspace). */
  readonly cliDefault?: string | number | boolean;
  /** A default no value can state (computed, or another option's); and the CLI's, where it differs. */
  readonly defaultText?: string;
  readonly cliDefaultText?: string;
  /** Relative paths are relative to: the workspace root, or the configuration file's directory
   * (the project root for inline options). The CLI resolves both against its working directory. */
  readonly path?: 'workspace' | 'config';
  /** Where the help lists it. */
  readonly section?: 'entries';
}
