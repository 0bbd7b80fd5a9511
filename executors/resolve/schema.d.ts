// Options of the sidebundle:resolve executor: the shared sidebundle options (schema.json).
export type { SidebundleExecutorOptions as ResolveExecutorSchema } from '../shared/schema';
