// Entry specs as the CLI, the Nx executors and the API spell them, the original sidebundle's
// syntax: `PATH[::name=NAME][::trace=CMD]` for host programs and
// `[backend://]IMAGE::/abs/path[::name=NAME][::trace=CMD]` for programs inside an image.
// `trace=` is last and takes the rest of the spec, so a trace command may itself contain `::`.
// The command follows shell quoting rules; a command that starts with an option
// (`trace=--version`) runs the entry itself with it.
import { SidebundleError } from '../errors';
import { validateEntryName } from '../model/names';

interface EntryCommon {
  /** Program path (host: absolute, relative to the cwd, or a name looked up on PATH; image:
   * absolute inside the image). */
  path: string;
  /** Launcher name (default: the basename of `path`). */
  name?: string;
  /** Command to trace, as argv. */
  trace?: string[];
}

export interface HostEntrySpec extends EntryCommon {
  source: 'host';
}

export interface ImageEntrySpec extends EntryCommon {
  source: 'image';
  /** The image reference (see lib/image/reference.ts). */
  image: string;
}

export type EntrySpec = HostEntrySpec | ImageEntrySpec;

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
  return { source: 'host', path, ...options(parts, path, spec) };
}

export function parseImageSpec(spec: string): ImageEntrySpec {
  const parts = spec.split('::');
  const image = parts.shift()!.trim();
  const path = (parts.shift() ?? '').trim();
  if (!image || !path.startsWith('/')) {
    throw new SidebundleError('BAD_ENTRY_SPEC', `--from-image ${JSON.stringify(spec)} needs IMAGE::/absolute/path`, {
      input: spec,
      kind: 'input',
      hint: "write [backend://]IMAGE::/abs/path[::trace=CMD], e.g. --from-image 'oci:./img:1.0::/usr/bin/jq'",
    });
  }
  // Required here, as shellWords below: `sidebundle resolve` parses plain host specs only.
  const { parseImageReference } = require('../image/reference') as typeof import('../image/reference');
  parseImageReference(image); // a clear error now rather than later
  return { source: 'image', image, path, ...options(parts, path, spec) };
}

function options(parts: string[], path: string, spec: string): Pick<EntryCommon, 'name' | 'trace'> {
  const out: Pick<EntryCommon, 'name' | 'trace'> = {};
  while (parts.length > 0) {
    const option = parts.shift()!;
    const eq = option.indexOf('=');
    const key = eq === -1 ? option : option.slice(0, eq);
    const value = eq === -1 ? '' : option.slice(eq + 1);
    if (key === 'trace') {
      out.trace = traceCommand([value, ...parts].join('::'), path, spec);
      break;
    }
    if (key === 'name') {
      validateEntryName(value, JSON.stringify(spec));
      out.name = value;
      continue;
    }
    throw new SidebundleError('BAD_ENTRY_SPEC', `unknown option "${option}" in ${JSON.stringify(spec)}`, {
      input: spec,
      kind: 'input',
      hint: 'options after :: are name=NAME and trace=CMD (trace last)',
    });
  }
  return out;
}

/** Parse a trace command; `-...` alone means "run the entry with these arguments". */
export function traceCommand(text: string, entryPath: string, input: string): string[] {
  const { shellWords } = require('../util/shell-words') as typeof import('../util/shell-words');
  const words = shellWords(text.trim(), input);
  if (words.length === 0) {
    throw new SidebundleError('BAD_ENTRY_SPEC', `empty trace command in ${JSON.stringify(input)}`, {
      input,
      kind: 'input',
      hint: "write trace=CMD, e.g. trace='python3 -c \"import ssl\"'",
    });
  }
  if (!words[0]!.startsWith('-')) return words;
  // A jar is not executable by itself: its arguments go to `java -jar` (lib/collect/jvm.ts).
  return /\.jar$/i.test(entryPath) ? ['java', '-jar', entryPath, ...words] : [entryPath, ...words];
}
