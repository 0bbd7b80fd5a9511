// Options of the sidebundle:merge executor: the shared sidebundle options (schema.json).
export type { SidebundleExecutorOptions as MergeExecutorSchema } from '../shared/schema';
