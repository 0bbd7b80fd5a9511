// Options of the sidebundle:trace executor: the shared sidebundle options (schema.json).
export type { SidebundleExecutorOptions as TraceExecutorSchema } from '../shared/schema';
