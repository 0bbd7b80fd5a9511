// Options of the sidebundle:package executor: the shared sidebundle options (schema.json).
export type { SidebundleExecutorOptions as PackageExecutorSchema } from '../shared/schema';
