// Options of the sidebundle:push executor, as a type: those the option table (lib/config/options.ts)
// gives it; schema.json is generated from the same table.
import type { ExecutorOptions } from '../../lib/config/options';

export type PushExecutorSchema = ExecutorOptions<'push'>;
