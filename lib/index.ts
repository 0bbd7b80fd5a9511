// sidebundle's programmatic API: the steps as plain async functions over JSON-serialisable data,
// the same functions the CLI and the Nx executors call.
export { SidebundleError, isSidebundleError } from './errors';
export { readElf } from './elf';
export type { ElfInfo, VersionNeed } from './elf';
export { parseHostSpec } from './entries/spec';
export type { EntrySpec, HostEntrySpec } from './entries/spec';
export { resolveClosure } from './resolve/resolve';
export type { ResolveOptions, ResolveResult } from './resolve/resolve';
export { mergeClosures } from './merge/merge';
export type { MergeOptions } from './merge/merge';
export { packBundle } from './package/pack';
export type { PackOptions, PackResult } from './package/pack';
export { validateBundle } from './validate/validate';
export type { ValidationIssue, ValidationReport } from './validate/validate';
export { bundle } from './bundle';
export type { BundleEvent, BundleOptions, BundleResult } from './bundle';
export { treeDigest } from './package/tree-digest';
export { DigestMemo } from './cache/file-digest';
export type * from './model/closure';
export type * from './model/plan';
export type * from './model/trace';
