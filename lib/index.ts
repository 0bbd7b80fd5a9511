// sidebundle's programmatic API: the steps as plain async functions over JSON-serialisable data,
// the same functions the CLI and the Nx executors call. Each takes an optional StepContext with a
// StepCache (content-digest keyed), an AbortSignal and a progress callback.
export { SidebundleError, isSidebundleError } from './errors';
export { readElf } from './elf';
export type { ElfInfo, VersionNeed } from './elf';
export { parseHostSpec } from './entries/spec';
export type { EntrySpec, HostEntrySpec } from './entries/spec';

// The steps, cached: resolve → trace → merge → package.
export { resolve } from './steps/resolve';
export type { ResolveStepOptions } from './steps/resolve';
export { trace } from './steps/trace';
export type { TraceStepOptions, TracedClosure } from './steps/trace';
export { merge } from './steps/merge';
export type { MergeStepOptions } from './steps/merge';
export { pack, package } from './steps/package';
export type { PackageStepOptions } from './steps/package';
export { bundle } from './bundle';
export type { BundleOptions, BundleResult } from './bundle';
export type { StepContext, StepEvent, StepName } from './steps/context';

// The cache.
export { StepCache } from './cache/step-cache';
export type { StepInput } from './cache/step-cache';
export { DigestMemo } from './cache/file-digest';

// Lower-level pieces.
export { resolveClosure } from './resolve/resolve';
export { mergeClosures } from './merge/merge';
export { packBundle } from './package/pack';
export type { PackOptions, PackResult } from './package/pack';
export { validateBundle } from './validate/validate';
export type { ValidationIssue, ValidationReport } from './validate/validate';
export { treeDigest } from './package/tree-digest';
export { readConfigFile, entriesOf } from './config/config';
export type { BundleConfig, EntryConfig } from './config/options';
export type * from './model/closure';
export type * from './model/plan';
export type * from './model/trace';
