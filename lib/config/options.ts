// Every option of sidebundle, declared once: its name (one camelCase name in sidebundle.json, the
// executors and the engine), CLI flag, type, default, description, the Nx executors that take it
// and whether sidebundle.json holds it. The executor schemas, sidebundle.schema.json, the
// `create` help and docs/options.md are generated from this table (scripts/gen-options.js;
// spec/config/options.spec.ts fails when a generated file is stale); validateConfig, the executors'
// normalisation and the CLI parser read it. Kept free of the engine: the CLI's help loads it.
import { COLLECT_POLICIES, DEFAULT_COLLECT, DEFAULT_COLLECT_BUDGET_MIB, LOG_LEVELS, RUN_MODES } from '../model/options';
import { DEFAULT_TRACE_TIMEOUT_SECONDS, IMAGE_TRACE_BACKENDS, TRACE_BACKEND_REQUESTS } from '../model/trace';
import { NX_OUT_DIR, STEP_FILES, stepDirOf } from './nx-paths';
import { EXECUTORS, type ExecutorName, type JsonSchema, type OptionSpec } from './option-spec';

const ALL = EXECUTORS;
/** A step file's default as the schemas and docs say it. */
const stepFileText = (file: string) => `${stepDirOf('<projectRoot>', '<name>')}/${file}`;

const ENTRY_TRACE: JsonSchema = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] };

const ENTRIES_SCHEMA: JsonSchema = {
  type: 'array',
  minItems: 1,
  items: {
    oneOf: [
      { type: 'string', description: 'PATH[::name=NAME][::trace=CMD]' },
      {
        type: 'object',
        properties: { host: { type: 'string' }, name: { type: 'string' }, trace: ENTRY_TRACE },
        required: ['host'],
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: { image: { type: 'string' }, path: { type: 'string' }, name: { type: 'string' }, trace: ENTRY_TRACE },
        required: ['image', 'path'],
        additionalProperties: false,
      },
    ],
  },
};

export const OPTIONS = [
  // Entries
  {
    name: 'fromHost', flag: '--from-host', arg: 'SPEC', repeatable: true, section: 'entries', kind: { type: 'string[]' }, config: false, executors: [],
    description: 'PATH[::name=NAME][::trace=CMD]: a program on this machine (absolute, relative, or a name found on PATH). trace=CMD runs CMD under the tracer to catch files loaded at run time (shell quoting; trace=--version runs the entry itself with --version).',
  },
  {
    name: 'fromImage', flag: '--from-image', arg: 'SPEC', repeatable: true, section: 'entries', kind: { type: 'string[]' }, config: false, executors: [],
    description: '[backend://]IMAGE::/abs/path[::trace=CMD]: a program inside an image. IMAGE: docker://REF or podman://REF (an engine), a bare REF (docker, else podman), oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF], or registry://HOST/REPO[:TAG|@DIGEST].',
  },
  {
    name: 'entries', config: true, executors: ['resolve', 'trace', 'bundle'],
    kind: { type: 'object', schema: ENTRIES_SCHEMA, summary: 'entry[]' },
    description: 'Programs to bundle: CLI specs ("/usr/bin/jq::trace=jq --version"), { "host": PATH, "name"?, "trace"? } or { "image": REF, "path": /abs/path, "name"?, "trace"? } (trace: a command line or an array of words). Relative paths, oci: layouts and archives are relative to the configuration file (or the project root). The CLI takes --from-host and --from-image.',
  },
  // Naming and placing the bundle
  {
    name: 'config', kind: { type: 'string' }, config: false, executors: ALL, path: 'workspace',
    description: 'A sidebundle.json holding the bundle configuration (the inferred targets pass it); inline options override its fields.',
  },
  {
    name: 'name', flag: '--name', arg: 'NAME', kind: { type: 'string' }, config: true, executors: ALL, cliDefault: 'bundle',
    description: 'The bundle name: the directory created under outDir. Required in sidebundle.json.',
  },
  {
    name: 'outDir', flag: '--out-dir', arg: 'DIR', kind: { type: 'string' }, config: true, executors: ['trace', 'package', 'bundle', 'push'], path: 'workspace',
    default: NX_OUT_DIR, cliDefault: 'target/bundles',
    description: 'Where the bundle directory goes (in Nx, from the workspace root). Traces leave it out.',
  },
  // Reading programs
  {
    name: 'traceRoot', flag: '--trace-root', arg: 'DIR', kind: { type: 'string' }, config: true, executors: ['resolve', 'bundle'], path: 'config', defaultText: '/',
    description: 'Read entries and their libraries inside DIR (a chroot, an unpacked rootfs) instead of /; symlinks and .. never leave it.',
  },
  {
    name: 'node', flag: '--node', arg: 'PATH', kind: { type: 'string' }, config: true, executors: ['resolve', 'bundle'], path: 'config', defaultText: 'the node on PATH (what env node runs)',
    description: 'The node program a Node entry (#!/usr/bin/env node, or a #! naming node or nodejs) runs with: it is bundled at its own path with its libraries. An ELF program (read inside --trace-root when one is given). Image entries keep the image\'s node.',
  },
  {
    name: 'copyDirs', flag: '--copy-dir', arg: 'SRC[:DEST]', repeatable: true, config: true, executors: ['resolve', 'trace', 'bundle'], path: 'config',
    kind: {
      type: 'object',
      summary: '(string | { source, dest? })[]',
      schema: {
        type: 'array',
        items: { oneOf: [{ type: 'string' }, { type: 'object', properties: { source: { type: 'string' }, dest: { type: 'string' } }, required: ['source'], additionalProperties: false }] },
      },
    },
    description: 'Directory trees copied into the payload, for data no analysis sees: SRC[:DEST] (or { "source", "dest" }), DEST its absolute path in the bundle (default SRC). Empty directories are kept; a FIFO, socket or device is left out with a warning.',
  },
  {
    name: 'setEnv', flag: '--set-env', arg: 'KEY=VALUE', repeatable: true, config: true, executors: ['merge', 'bundle'],
    kind: { type: 'object', summary: '{ NAME: value }', schema: { type: 'object', additionalProperties: { type: 'string' } } },
    description: 'Variables every launcher sets; ${SIDEBUNDLE_ROOT} in a value is the bundle directory at run time.',
  },
  {
    name: 'allowGpuLibs', flag: '--allow-gpu-libs', kind: { type: 'boolean' }, config: true, executors: ['resolve', 'bundle'], default: false,
    description: 'Bundle GPU/DRM driver libraries (libcuda, libnvidia-*, libdrm*, *_dri.so, ...) instead of leaving them to the target (they are listed in the manifest).',
  },
  {
    name: 'allowSecret', flag: '--allow-secret', arg: 'PATH', repeatable: true, kind: { type: 'string[]' }, config: true, executors: ['resolve', 'trace', 'bundle'], path: 'config',
    description: 'Ship PATH (a file or directory) even though it holds a secret: keys, tokens and credentials are left out otherwise, wherever they are.',
  },
  // Tracing
  {
    name: 'traceBackend', flag: '--trace-backend', arg: 'B', kind: { type: 'enum', values: TRACE_BACKEND_REQUESTS }, config: true, executors: ['trace', 'bundle'], default: 'auto',
    description: 'The run-time tracer for entries with a trace command; auto is combined, falling back to ptrace, then off, each with a warning saying why.',
  },
  {
    name: 'traceTimeout', flag: '--trace-timeout', arg: 'SECS', kind: { type: 'number', unit: 'seconds' }, config: true, executors: ['trace', 'bundle'], default: DEFAULT_TRACE_TIMEOUT_SECONDS,
    description: 'Kill a trace command and everything it started after SECS seconds (a server stopped so is not a failure).',
  },
  {
    name: 'traceInclude', flag: '--trace-include', arg: 'PATH', repeatable: true, kind: { type: 'string[]' }, config: true, executors: ['trace', 'bundle'], path: 'config',
    description: 'Ship PATH even where the trace policy leaves it out.',
  },
  {
    name: 'allowTraceFailure', flag: '--allow-trace-failure', kind: { type: 'boolean' }, config: true, executors: ['trace', 'bundle'], default: false,
    description: 'Keep a trace whose command exits non-zero or dies by a signal; otherwise that fails the build (TRACE_COMMAND_FAILED), since a failed command most likely did not exercise what the bundle needs.',
  },
  {
    name: 'collect', flag: '--collect', arg: 'P', kind: { type: 'enum', values: COLLECT_POLICIES }, config: true, executors: ['trace', 'bundle'], default: DEFAULT_COLLECT,
    description: 'What goes in besides what the trace touched: traced (nothing), smart (an interpreter\'s whole standard library, the distributions its traced imports belong to, whole plugin directories up to the budget), full (smart without a budget).',
  },
  {
    name: 'collectBudget', flag: '--collect-budget', arg: 'MIB', kind: { type: 'number', unit: 'MiB' }, config: true, executors: ['trace', 'bundle'], default: DEFAULT_COLLECT_BUDGET_MIB,
    description: 'Size budget per plugin directory under --collect smart, in MiB.',
  },
  // Images in
  {
    name: 'imageBackend', flag: '--image-backend', arg: 'B', kind: { type: 'enum', values: ['auto', 'docker', 'podman'] }, config: true, executors: ['resolve', 'trace', 'bundle'], default: 'auto',
    description: 'The engine for bare image references: auto (docker, then podman), docker or podman.',
  },
  {
    name: 'imageTraceBackend', flag: '--image-trace-backend', arg: 'B', kind: { type: 'enum', values: IMAGE_TRACE_BACKENDS }, config: true, executors: ['resolve', 'trace', 'bundle'],
    defaultText: 'traceBackend',
    description: 'How image entries are traced: off|auto|ptrace|fanotify|combined from this machine inside the unpacked image, or agent|agent-combined (the agent runs inside a container of the image; needs an engine).',
  },
  {
    name: 'imageAgentCli', flag: '--image-agent-cli', arg: 'CMD', kind: { type: 'string' }, config: true, executors: ['resolve', 'trace', 'bundle'],
    description: 'The engine command line (e.g. "sudo -n podman").',
  },
  {
    name: 'imageAgentBin', flag: '--image-agent-bin', arg: 'PATH', kind: { type: 'string' }, config: true, executors: ['trace', 'bundle'], path: 'config',
    description: 'The sidebundle-agent binary to run in containers.',
  },
  {
    name: 'imageAgentKeepOutput', flag: '--image-agent-keep-output', kind: { type: 'boolean' }, config: false, executors: [],
    description: 'Keep the agent\'s output directory (for debugging).',
  },
  {
    name: 'imageAgentKeepRootfs', flag: '--image-agent-keep-rootfs', kind: { type: 'boolean' }, config: false, executors: [],
    description: 'Print where the unpacked image rootfs is (it stays in the cache).',
  },
  // The step cache
  {
    name: 'cacheDir', flag: '--cache-dir', arg: 'DIR', kind: { type: 'string' }, config: true, executors: ALL, path: 'workspace',
    default: '.nx/cache/sidebundle', cliDefaultText: '$XDG_CACHE_HOME/sidebundle, else ~/.cache/sidebundle',
    description: 'The step cache: each step\'s result keyed on the digests of what it read.',
  },
  {
    name: 'noCache', flag: '--no-cache', kind: { type: 'boolean' }, config: false, executors: [],
    description: 'Do every step and store nothing.',
  },
  // The bundle
  {
    name: 'strictValidate', flag: '--strict-validate', kind: { type: 'boolean' }, config: true, executors: ['package', 'bundle'], default: false,
    description: 'Fail (exit 1, the previous bundle kept) when the bundle is not self-contained.',
  },
  {
    name: 'runMode', flag: '--run-mode', arg: 'M', kind: { type: 'enum', values: RUN_MODES }, config: true, executors: ['package', 'bundle'], default: 'auto',
    description: 'How launchers run programs: auto (the payload as / in an unprivileged user namespace where the machine allows it, else host), host, ns, bwrap or chroot. SIDEBUNDLE_RUN_MODE overrides it at run time.',
  },
  {
    name: 'emitSingleFile', flag: '--emit-single-file', kind: { type: 'boolean' }, config: true, executors: ['package', 'bundle'], default: false,
    description: 'Also write OUT-DIR/NAME.run: one executable carrying the whole bundle.',
  },
  {
    name: 'report', flag: '--report', kind: { type: 'boolean' }, config: true, executors: ['package', 'bundle'], default: false,
    description: 'Also write OUT-DIR/NAME.report.html: one self-contained HTML page on what the bundle holds and why (sidebundle report DIR writes it for an existing bundle).',
  },
  // Images out. In Nx the layout and archive are outputs of the cached package target; a push is a
  // side effect no cache hit may skip, so only the uncached push target (executor push) takes it.
  {
    name: 'emitOci', flag: '--emit-oci', arg: 'DIR', kind: { type: 'string' }, config: true, executors: ['package', 'bundle'], path: 'workspace',
    description: 'Also write an OCI image layout of the bundle (FROM scratch, one layer) into DIR (in Nx, from the workspace root: an output of package).',
  },
  {
    name: 'emitOciArchive', flag: '--emit-oci-archive', arg: 'FILE', kind: { type: 'string' }, config: true, executors: ['package', 'bundle'], path: 'workspace',
    description: 'Also write that image as an oci-archive tar (in Nx, from the workspace root: an output of package).',
  },
  {
    name: 'push', flag: '--push', arg: 'REF', kind: { type: 'string' }, config: true, executors: ['push'],
    description: 'Also push that image to registry://HOST[:PORT]/REPO[:TAG]. In Nx the push target does it (never cached), from the bundle package wrote.',
  },
  {
    name: 'ociEntry', flag: '--oci-entry', arg: 'NAME', kind: { type: 'string' }, config: true, executors: ['package', 'bundle', 'push'], defaultText: 'the first entry',
    description: 'The entry the image runs.',
  },
  // Step files (the Nx chain's JSON results)
  {
    name: 'closureFile', kind: { type: 'string' }, config: false, executors: ['resolve', 'trace', 'merge', 'package', 'push'], path: 'workspace', defaultText: stepFileText(STEP_FILES.closureFile),
    description: 'Where resolve writes the resolved closures (trace and merge read them; package and push read the source images\' configuration there).',
  },
  {
    name: 'tracedFile', kind: { type: 'string' }, config: false, executors: ['trace', 'merge'], path: 'workspace', defaultText: stepFileText(STEP_FILES.tracedFile),
    description: 'Where trace writes what the traced runs added (merge reads it).',
  },
  {
    name: 'planFile', kind: { type: 'string' }, config: false, executors: ['merge', 'package'], path: 'workspace', defaultText: stepFileText(STEP_FILES.planFile),
    description: 'Where merge writes the plan (package reads it).',
  },
  // The CLI's output
  {
    name: 'logLevel', flag: '--log-level', arg: 'L', kind: { type: 'enum', values: LOG_LEVELS }, config: false, executors: [], cliDefault: 'warn',
    description: 'How much goes to stderr.',
  },
  {
    name: 'json', flag: '--json', kind: { type: 'boolean' }, config: false, executors: [],
    description: 'Print one JSON result on stdout and nothing else there.',
  },
  {
    name: 'help', flag: '--help', short: 'h', kind: { type: 'boolean' }, config: false, executors: [],
    description: 'This help.',
  },
] as const satisfies readonly OptionSpec[];

export type OptionName = (typeof OPTIONS)[number]['name'];
type Option = (typeof OPTIONS)[number];

/** The JSON/TypeScript forms of the structured options. */
export type EntryConfig =
  | string
  | { host: string; name?: string; trace?: string | string[] }
  | { image: string; path: string; name?: string; trace?: string | string[] };
interface ObjectValues {
  entries: EntryConfig[];
  copyDirs: Array<string | { source: string; dest?: string }>;
  setEnv: Record<string, string>;
}

type ValueOf<O extends Option> = O['kind'] extends { type: 'string' } ? string
  : O['kind'] extends { type: 'number' } ? number
  : O['kind'] extends { type: 'boolean' } ? boolean
  : O['kind'] extends { type: 'enum'; values: readonly (infer V)[] } ? V
  : O['kind'] extends { type: 'string[]' } ? string[]
  : O['name'] extends keyof ObjectValues ? ObjectValues[O['name']] : never;

/** sidebundle.json, as a type. */
export type BundleConfig = { name: string; entries: EntryConfig[] } & {
  [O in Option as O['config'] extends true ? O['name'] : never]?: ValueOf<O>;
};

/** What executor E takes inline (its schema.json, as a type). */
export type ExecutorOptions<E extends ExecutorName> = {
  [O in Option as E extends O['executors'][number] ? O['name'] : never]?: ValueOf<O>;
};

/** The CLI's values by option name (objects arrive as their repeatable strings). */
export type CliValues = {
  [O in Option as O extends { flag: string } ? O['name'] : never]?: O['kind'] extends { type: 'object' } ? string[] : ValueOf<O>;
};

export function optionNamed(name: string): OptionSpec | undefined {
  return (OPTIONS as readonly OptionSpec[]).find((o) => o.name === name);
}

export const CONFIG_OPTIONS: readonly OptionSpec[] = OPTIONS.filter((o) => o.config);

export function executorOptions(executor: ExecutorName): OptionSpec[] {
  return (OPTIONS as readonly OptionSpec[]).filter((o) => o.executors.includes(executor));
}

export function cliOptions(): OptionSpec[] {
  return (OPTIONS as readonly OptionSpec[]).filter((o) => o.flag !== undefined);
}
