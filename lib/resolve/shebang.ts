// Shebang lines as the Linux kernel reads them (fs/binfmt_script.c): at most the first 256
// bytes, `#!`, optional blanks, the interpreter path up to a blank, then everything up to the
// end of the line with outer blanks stripped as ONE optional argument.
import * as path from 'node:path';

/** BINPRM_BUF_SIZE: the kernel reads this much of a file to find its shebang. */
export const SHEBANG_LIMIT = 256;
/** What is read of a program's head: its #! line, and the line after (a sh/node polyglot's). */
export const HEAD_BYTES = 1024;

export interface Shebang {
  interpreter: string;
  /** The single optional argument, exactly as the kernel passes it. */
  arg?: string;
}

/** How a JavaScript file without #! runs (`node dist/apps/x/main.js`: a build output rarely has a
 * #! line): with the node `env node` finds, or --node. */
export const JS_SHEBANG: Shebang = { interpreter: '/usr/bin/env', arg: 'node' };

/**
 * sidebundle's own command's second line (scripts/bundle-cli.js writes it): a string and a
 * comment for JavaScript; for sh, `:` and then commands that keep NODE_EXTRA_CA_CERTS from Node's
 * start-up (only its speed) before running node on the file itself.
 */
export const SIDEBUNDLE_SH_NODE_LINE = `':' //; if [ -n "\${NODE_EXTRA_CA_CERTS+set}" ]; then export SIDEBUNDLE_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; else unset SIDEBUNDLE_NODE_EXTRA_CA_CERTS; fi; exec node "$0" "$@"`;

/** The plain sh/node polyglot: the shell part only runs node on the file itself. */
const SH_NODE_LINE = /^(?:':'|":")[ \t]*\/\/;[ \t]*exec[ \t]+(?:node|nodejs)[ \t]+"\$0"[ \t]+"\$@"[ \t]*$/;

/** Whether `line`, the second of a shell script, makes it a node script that only a shell starts.
 * A shell part that does more (sets NODE_PATH or NODE_OPTIONS, adds arguments) keeps the file a
 * shell script: run with the bundled node directly, what it does would be lost. */
function isShNodeLine(line: string): boolean {
  const bare = line.replace(/\r$/, '');
  return bare === SIDEBUNDLE_SH_NODE_LINE || SH_NODE_LINE.test(bare);
}

/** The shebang of an entry: its #! line; JS_SHEBANG for a .js, .mjs or .cjs file without one,
 * and for a sh/node polyglot (isShNodeLine), which in a bundle must run with the bundled node,
 * not with whatever node its shell part would find on the machine's PATH. */
export function entryShebang(head: Buffer, file: string): Shebang | undefined {
  const shebang = parseShebang(head);
  if (shebang === undefined) return /\.[cm]?js$/.test(file) ? JS_SHEBANG : undefined;
  const shell = path.posix.basename(shebang.interpreter) === 'env' ? envCommand(shebang.arg)?.name : shebang.interpreter;
  if (shell !== undefined && isShellInterpreter(shell) && isShNodeLine(head.toString('latin1').split('\n', 2)[1] ?? '')) return JS_SHEBANG;
  return shebang;
}

export function parseShebang(head: Buffer): Shebang | undefined {
  if (head.length < 2 || head[0] !== 0x23 || head[1] !== 0x21) return undefined; // "#!"
  const firstLine = head.subarray(2, Math.min(head.length, SHEBANG_LIMIT)).toString('latin1').split('\n')[0]!;
  const line = firstLine.replace(/^[ \t]+/, '').replace(/[ \t\r]+$/, '');
  if (line === '') return undefined;
  const blank = line.search(/[ \t]/);
  if (blank === -1) return { interpreter: line };
  const arg = line.slice(blank).replace(/^[ \t]+/, '');
  return arg === '' ? { interpreter: line.slice(0, blank) } : { interpreter: line.slice(0, blank), arg };
}

/**
 * For `#!/usr/bin/env [-S] [VAR=x ...] NAME [args]`: the command name env would run and the
 * arguments it would add (only `-S` splits; without it the whole argument is the name).
 */
export function envCommand(arg: string | undefined): { name: string; args: string[] } | undefined {
  if (arg === undefined) return undefined;
  let words: string[];
  if (arg.startsWith('-S')) words = arg.slice(2).trim().split(/[ \t]+/).filter(Boolean);
  else if (arg.startsWith('-')) return undefined;
  else words = [arg];
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words.shift();
  const [name, ...args] = words;
  return name === undefined ? undefined : { name, args };
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh', 'zsh', 'busybox']);

/** True when a script run by `interpreter` is a shell script we can scan for helper commands. */
export function isShellInterpreter(interpreter: string): boolean {
  return SHELLS.has(interpreter.slice(interpreter.lastIndexOf('/') + 1));
}
