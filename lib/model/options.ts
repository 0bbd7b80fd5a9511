// The choices an option offers, where the option table (lib/config/options.ts), the CLI and the
// pipeline step that acts on the choice must agree: declared once, here, below all of them.

/** How launchers run their programs: `host` runs the bundled loader with the bundle's library
 * path; `ns`, `bwrap` and `chroot` make the payload the root filesystem; `auto` picks `ns`
 * where the machine allows it, else host. */
export const RUN_MODES = ['auto', 'host', 'ns', 'bwrap', 'chroot'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/** `traced`: only what the trace touched; `smart`: the families below, plugin directories under a
 * size budget; `full`: the same without a budget, and whole sibling plugin trees. */
export const COLLECT_POLICIES = ['traced', 'smart', 'full'] as const;
export type CollectPolicy = (typeof COLLECT_POLICIES)[number];
export const DEFAULT_COLLECT: CollectPolicy = 'smart';
/** Per plugin directory, in MiB (--collect-budget / collectBudget). */
export const DEFAULT_COLLECT_BUDGET_MIB = 64;

/** How much the CLI says on stderr, least first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
