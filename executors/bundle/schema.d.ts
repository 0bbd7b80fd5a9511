// Options of the sidebundle:bundle executor: the shared sidebundle options (schema.json).
export type { SidebundleExecutorOptions as BundleExecutorSchema } from '../shared/schema';
