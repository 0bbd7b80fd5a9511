// Entry specs as the CLI, the Nx executors and the API spell them, the original sidebundle's
// syntax: `PATH[::trace=CMD]` for host programs. `trace=` is last and takes the rest of the
// spec, so a trace command may itself contain `::`. The command follows shell quoting rules; a
// command that starts with an option (`trace=--version`) runs the entry itself with it.
import { SidebundleError } from '../errors';
import { shellWords } from './shell-words';

export interface HostEntrySpec {
  source: 'host';
  /** Program path (absolute, relative to the cwd, or a name looked up on PATH). */
  path: string;
  /** Launcher name (default: the basename of `path`). */
  name?: string;
  /** Command to trace, as argv. */
  trace?: string[];
}

export type EntrySpec = HostEntrySpec;

export function parseHostSpec(spec: string): HostEntrySpec {
  const parts = spec.split('::');
  const path = parts.shift()!.trim();
  if (path === '') {
    throw new SidebundleError('BAD_ENTRY_SPEC', `--from-host ${JSON.stringify(spec)} names no program`, {
      input: spec,
      kind: 'input',
      hint: "write PATH[::trace=CMD], e.g. --from-host '/usr/bin/jq::trace=jq --version'",
    });
  }
  const entry: HostEntrySpec = { source: 'host', path };
  while (parts.length > 0) {
    const option = parts.shift()!;
    const eq = option.indexOf('=');
    const key = eq === -1 ? option : option.slice(0, eq);
    const value = eq === -1 ? '' : option.slice(eq + 1);
    if (key === 'trace') {
      entry.trace = traceCommand([value, ...parts].join('::'), path, spec);
      break;
    }
    if (key === 'name' && value !== '') {
      entry.name = value;
      continue;
    }
    throw new SidebundleError('BAD_ENTRY_SPEC', `unknown option "${option}" in ${JSON.stringify(spec)}`, {
      input: spec,
      kind: 'input',
      hint: 'options after :: are name=NAME and trace=CMD (trace last)',
    });
  }
  return entry;
}

/** Parse a trace command; `-...` alone means "run the entry with these arguments". */
export function traceCommand(text: string, entryPath: string, input: string): string[] {
  const words = shellWords(text.trim(), input);
  if (words.length === 0) {
    throw new SidebundleError('BAD_ENTRY_SPEC', `empty trace command in ${JSON.stringify(input)}`, {
      input,
      kind: 'input',
      hint: "write trace=CMD, e.g. trace='python3 -c \"import ssl\"'",
    });
  }
  return words[0]!.startsWith('-') ? [entryPath, ...words] : words;
}
