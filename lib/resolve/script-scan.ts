// The helper-command heuristic for shell scripts. A script that pipes through sed, awk or grep
// needs those programs on the target too; we bundle them as entries of their own and the
// script's launcher puts the bundle's bin/ first on PATH.
//
// The heuristic, documented in docs/resolution.md ("Scripts"): a word is a helper when it stands in command
// position (start of a line or after ; | & && || ( ) { } $( ` and after the keywords if, then,
// else, elif, do, while, until, !), after skipping VAR=value assignments and redirections, or
// when it follows a command runner (exec, command, env, nohup, nice, time, timeout, xargs,
// sudo) or find's -exec/-ok; it is not a shell keyword, builtin or a function the script defines; it contains no
// `$`, quote or `/`; and it exists on PATH inside the root. Comments and here-document bodies
// are skipped; command substitutions count inside double quotes too. Anything built at run time (`$cmd`, eval) is out of reach: trace the script.

const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'in', 'case', 'esac',
  'function', 'select', '!', '{', '}', '[[', ']]', 'time', 'coproc']);
const BUILTINS = new Set(['.', ':', '[', 'alias', 'bg', 'bind', 'break', 'builtin', 'caller', 'cd', 'command', 'compgen',
  'complete', 'continue', 'declare', 'dirs', 'disown', 'echo', 'enable', 'eval', 'exec', 'exit', 'export', 'false', 'fc',
  'fg', 'getopts', 'hash', 'help', 'history', 'jobs', 'kill', 'let', 'local', 'logout', 'mapfile', 'popd', 'printf',
  'pushd', 'pwd', 'read', 'readarray', 'readonly', 'return', 'set', 'shift', 'shopt', 'source', 'suspend', 'test',
  'times', 'trap', 'true', 'type', 'typeset', 'ulimit', 'umask', 'unalias', 'unset', 'wait']);
/** Words after which the next word is a command too. */
const RUNNERS = new Set(['exec', 'command', 'env', 'nohup', 'nice', 'time', 'timeout', 'xargs', 'sudo', 'then', 'else',
  'elif', 'do', 'if', 'while', 'until', '!']);

/** Command names a shell script runs, in first-seen order. */
export function scanShellCommands(text: string): string[] {
  const plain = stripHeredocs(stripComments(text));
  // Command substitutions run commands wherever they stand, inside double quotes too
  // ("$(dirname "$0")"), which the blanking below hides: each is scanned again as a line.
  const source = [plain, ...substitutions(plain)].join('\n');
  const functions = new Set<string>();
  for (const m of source.matchAll(/(?:^|[\s;])(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\s*\)/g)) functions.add(m[1]!);
  for (const m of source.matchAll(/(?:^|[\s;])function\s+([A-Za-z_][\w-]*)/g)) functions.add(m[1]!);

  const found: string[] = [];
  const seen = new Set<string>();
  // Split into simple commands at separators; quoted strings (and arithmetic, $((...))) are
  // blanked to words that name no command, so their content never counts.
  const blanked = source.replace(/'[^']*'|"(?:\\.|[^"\\])*"|\$\(\([^)]*\)\)/g, (s) => ` ${'@'.repeat(Math.max(1, s.length - 2))} `);
  for (const segment of blanked.split(/\$\(|`|\|\||&&|[;|&(){}\n]/)) {
    const words = segment.trim().split(/\s+/).filter(Boolean);
    let i = 0;
    let expectCommand = true;
    while (i < words.length && expectCommand) {
      const word = words[i]!;
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || /^\d*[<>]/.test(word)) {
        i += /^\d*[<>]+&?$/.test(word) ? 2 : 1; // assignment, or redirection (with a separate target word)
        continue;
      }
      expectCommand = RUNNERS.has(word);
      if (isCandidate(word) && !functions.has(word) && !seen.has(word)) {
        seen.add(word);
        found.push(word);
      }
      i++;
      // runners take options before the command (`timeout 5 cmd`, `nice -n 5 cmd`, `env -i cmd`)
      while (expectCommand && i < words.length && /^(-|\d)/.test(words[i]!)) i++;
    }
    // find's -exec and -ok run the word after them.
    for (let k = 0; k + 1 < words.length; k++) {
      const word = words[k + 1]!;
      if (/^-(exec|execdir|ok|okdir)$/.test(words[k]!) && isCandidate(word) && !functions.has(word) && !seen.has(word)) {
        seen.add(word);
        found.push(word);
      }
    }
  }
  return found;
}

/** The text of each $(...) and `...` outside single quotes (not $((...)), arithmetic). Nested
 * ones stay inside their outer text, which the scanner splits at $( and ` itself. */
function substitutions(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) break;
      i = end;
    } else if (c === '$' && text[i + 1] === '(' && text[i + 2] !== '(') {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === '(') depth++;
        else if (text[j] === ')') depth--;
      }
      out.push(text.slice(i + 2, j - 1));
      i = j - 1;
    } else if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end === -1) break;
      out.push(text.slice(i + 1, end));
      i = end;
    }
  }
  return out;
}

function isCandidate(word: string): boolean {
  return /^[A-Za-z0-9_][\w.+-]*$/.test(word) && !KEYWORDS.has(word) && !BUILTINS.has(word);
}

function stripComments(text: string): string {
  return text.replace(/(^|[\s;])#.*$/gm, '$1');
}

/** Remove here-document bodies: their lines are data, not commands. */
function stripHeredocs(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let terminator: string | undefined;
  let stripTabs = false;
  for (const line of lines) {
    if (terminator !== undefined) {
      if ((stripTabs ? line.replace(/^\t+/, '') : line) === terminator) terminator = undefined;
      continue;
    }
    out.push(line);
    const m = /<<(-?)\s*(['"]?)([A-Za-z_][\w]*)\2/.exec(line);
    if (m) {
      stripTabs = m[1] === '-';
      terminator = m[3];
    }
  }
  return out.join('\n');
}
