// What the option table (./options.ts) generates: each executor's schema.json, the sidebundle.json
// schema, the `create` help and docs/options.md. Pure functions of the table; scripts/gen-options.js
// writes them and spec/config/options.spec.ts checks the committed copies are current.
import { EXECUTORS, type ExecutorName, type JsonSchema, type OptionSpec } from './option-spec';
import { OPTIONS, cliOptions, executorOptions } from './options';

const ALL: readonly OptionSpec[] = OPTIONS;

/** The executors' titles and what each does (executors.json has the one-line form). */
const EXECUTOR_DESCRIPTIONS: Record<ExecutorName, string> = {
  resolve: "Resolve the entries' shared libraries (ld.so's rules, inside the root) into resolved closures (closureFile).",
  trace: "Run the entries' trace commands under the tracer, collect what they did not touch, and resolve it (tracedFile; reads closureFile); record files outside the workspace in sidebundle.lock.",
  merge: 'Merge the resolved and traced closures into a plan (planFile).',
  package: 'Write the bundle for a plan (planFile) into outDir/name, atomically; and the image of it (emitOci, emitOciArchive) and its report (report), when asked.',
  bundle: 'The whole chain (resolve, trace, merge, package) in one target.',
  push: 'Push the image of the bundle in outDir/name to a registry (push): built again from the bundle, the same image digest package emits. A side effect: never cache the target.',
};

/** The default as the docs and schemas state it. */
function defaultText(o: OptionSpec, surface: 'config' | 'cli'): string | undefined {
  const text = surface === 'cli' ? o.cliDefaultText ?? o.cliDefault ?? o.defaultText ?? o.default : o.defaultText ?? o.default;
  return text === undefined ? undefined : String(text);
}

function typeSchema(o: OptionSpec): JsonSchema {
  const k = o.kind;
  switch (k.type) {
    case 'string': return { type: 'string' };
    case 'boolean': return { type: 'boolean' };
    case 'number': return { type: 'number', exclusiveMinimum: 0 };
    case 'enum': return { type: 'string', enum: [...k.values] };
    case 'string[]': return { type: 'array', items: { type: 'string' } };
    case 'object': return k.schema;
  }
}

function propertySchema(o: OptionSpec, withDefault: boolean): JsonSchema {
  const d = defaultText(o, 'config');
  return {
    ...typeSchema(o),
    description: `${o.description}${d === undefined ? '' : ` Default: ${d}.`}`,
    ...(withDefault && o.default !== undefined ? { default: o.default } : {}),
  };
}

/** An executor's schema.json: the options it takes. A `default` only where the option is not in
 * sidebundle.json: Nx applies schema defaults inline, and inline options win over the file. */
export function executorSchema(executor: ExecutorName): JsonSchema {
  const options = executorOptions(executor);
  return {
    $schema: 'https://json-schema.org/schema',
    version: 2,
    title: `sidebundle ${executor}`,
    description: `${EXECUTOR_DESCRIPTIONS[executor]} Generated from lib/config/options.ts (npm run gen:options).`,
    type: 'object',
    properties: Object.fromEntries(options.map((o) => [o.name, propertySchema(o, !o.config)])),
    required: [],
    additionalProperties: false,
  };
}

/** sidebundle.schema.json: what sidebundle.json may hold ("$schema" points editors here). */
export function configSchema(): JsonSchema {
  const options = ALL.filter((o) => o.config);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'sidebundle.json',
    description: 'A sidebundle bundle configuration (the Nx plugin infers resolve, trace, merge, package and bundle targets from it, and push where it names one). Generated from lib/config/options.ts; every option is described in docs/options.md.',
    type: 'object',
    properties: {
      $schema: { type: 'string', description: 'This schema, for editors: "./node_modules/sidebundle/sidebundle.schema.json" (relative to the file).' },
      ...Object.fromEntries(options.map((o) => [o.name, propertySchema(o, true)])),
    },
    required: ['name', 'entries'],
    additionalProperties: false,
  };
}

const HELP_WIDTH = 94;
const HELP_COLUMN = 26;

/** `sidebundle create --help`. */
export function createHelp(): string {
  const lines = (section: OptionSpec['section']) => cliOptions().filter((o) => o.section === section).flatMap(helpLines);
  return [
    'Usage: sidebundle create --from-host SPEC [--from-host SPEC ...] [options]',
    '',
    'Bundle dynamically linked programs (and #! scripts) with everything they load into a',
    'directory that runs on any x86-64 Linux, whatever its glibc.',
    '',
    'Entries:',
    ...lines('entries'),
    '',
    'Options:',
    ...lines(undefined),
    '',
    'Every option and its sidebundle.json key: docs/options.md. Exit status: 0 success, 1 failure,',
    '2 bad input.',
  ].join('\n');
}

function helpLines(o: OptionSpec): string[] {
  const label = `  ${o.short ? `-${o.short}, ` : ''}${o.flag}${o.arg ? ` ${o.arg}` : ''}`;
  const notes = [
    ...(o.kind.type === 'enum' ? [o.kind.values.join('|')] : []),
    // A flag's absence says a boolean's default.
    ...(defaultText(o, 'cli') !== undefined && o.kind.type !== 'boolean' ? [`default: ${defaultText(o, 'cli')}`] : []),
    ...(o.repeatable ? ['repeatable'] : []),
  ];
  const words = `${o.description}${notes.length ? ` (${notes.join('; ')})` : ''}`.split(' ');
  const out: string[] = [];
  let line = label.length + 1 <= HELP_COLUMN ? label.padEnd(HELP_COLUMN) : `${label} `;
  let fresh = true;
  for (const word of words) {
    if (!fresh && line.length + 1 + word.length > HELP_WIDTH) {
      out.push(line);
      line = ' '.repeat(HELP_COLUMN);
      fresh = true;
    }
    line += fresh ? word : ` ${word}`;
    fresh = false;
  }
  out.push(line);
  return out;
}

/** docs/options.md. */
export function optionsDoc(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const code = (text: string) => `\`${text.replace(/\|/g, '\\|')}\``;
  const type = (o: OptionSpec) => {
    const k = o.kind;
    if (k.type === 'enum') return k.values.map(code).join(', ');
    if (k.type === 'number') return `number (${k.unit})`;
    if (k.type === 'object') return code(k.summary);
    return k.type;
  };
  const defaults = (o: OptionSpec) => {
    const config = defaultText(o, 'config');
    const cli = defaultText(o, 'cli');
    if (config === cli) return config === undefined ? '' : code(config);
    return [config !== undefined && o.config ? `${code(config)}` : '', cli !== undefined && o.flag ? `CLI: ${code(cli)}` : ''].filter(Boolean).join('; ');
  };
  const row = (o: OptionSpec) => `| ${code(o.name)} | ${o.flag ? code(`${o.flag}${o.arg ? ` ${o.arg}` : ''}`) : ''} | ${o.config ? 'yes' : ''} | ${o.executors.join(', ')} | ${type(o)} | ${defaults(o)} | ${cell(o.description)} |`;
  return [
    '# Options',
    '',
    '<!-- Generated from lib/config/options.ts by `npm run gen:options`; edit the table there. -->',
    '',
    'Each option has one name: its key in `sidebundle.json`, its name as an Nx executor option and in',
    'the programmatic API. `sidebundle create` takes it as the flag shown (repeatable flags are',
    'arrays in JSON). `sidebundle.json` is checked against [`sidebundle.schema.json`](../sidebundle.schema.json)',
    '(add `"$schema": "./node_modules/sidebundle/sidebundle.schema.json"`, relative to the file, for',
    'completion in editors); an unknown key is an error that names the closest known one. Each',
    'executor takes the options listed for it, inline or through `config`; inline options win over',
    'the file. In `sidebundle.json` and inline, relative paths are relative to the file (the project',
    'root for inline options), except `outDir` and `cacheDir`, which are relative to the workspace root.',
    '',
    '| option | CLI | sidebundle.json | executors | type | default | description |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...ALL.map(row),
    '',
    'The executors:',
    '',
    ...EXECUTORS.map((e) => `- \`sidebundle:${e}\`: ${EXECUTOR_DESCRIPTIONS[e]}`),
    '',
  ].join('\n');
}

/** Every generated file, by its path from the package root. */
export function generatedFiles(): Record<string, string> {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    ...Object.fromEntries(EXECUTORS.map((e) => [`executors/${e}/schema.json`, json(executorSchema(e))])),
    'sidebundle.schema.json': json(configSchema()),
    'docs/options.md': optionsDoc(),
  };
}
