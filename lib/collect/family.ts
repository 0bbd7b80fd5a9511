// The contract between collection (index.ts) and its families: a family looks at what the
// static and traced closures hold and names the files a program will need on the paths the
// trace never took, each with the reason a reader of manifest.lock sees. Families only name
// files; index.ts resolves them like traced files (libraries with their closures, links kept).
// A new language (Node.js, the JVM) is one more module exporting a CollectFamily.
import type { ClosureFile, Diagnostic, ExcludedFile, Reason, ResolvedEntry } from '../model/closure';
import type { CollectPolicy } from '../model/options';
import type { RootFs } from '../resolve/rootfs';
import type { PackageIndex } from './dpkg';

export interface CollectInput {
  /** A root-confined view of the root the closures come from. */
  fs: RootFs;
  /** Every file of the static and traced closures, at its path in the root. */
  files: ReadonlyArray<Pick<ClosureFile, 'path' | 'kind' | 'reasons'> & { size?: number }>;
  /** What traced runs read and the policy left out (a read /etc/nsswitch.conf means NSS). */
  excluded: ReadonlyArray<Pick<ExcludedFile, 'path'>>;
  entries: ReadonlyArray<ResolvedEntry>;
  policy: Exclude<CollectPolicy, 'traced'>;
  /** Bytes a plugin directory may add in `smart` (no limit in `full`). */
  budgetBytes: number;
  /** The root's package database (files of a distribution that lists none itself). */
  packages: PackageIndex;
  /** Directories nothing is collected from (the output directory, inside a project maybe). */
  exclude?: readonly string[];
}

export interface Addition {
  /** Logical path in the root (may go through symlinks: they are kept). */
  path: string;
  reason: Reason & { kind: 'collected' };
  /** Set for a module that is left out, with a diagnostic, when a library it needs is absent
   * (an extension module of a library the machine lacks): the text names it there. */
  droppable?: string;
  /** The part of the family it belongs to in the size report (node: app, dependencies, addons);
   * libraries it brings in are credited to the same part. */
  part?: string;
}

/** What one part of a family weighs: files and bytes. */
export interface PartSummary {
  part: string;
  files: number;
  bytes: number;
}

export interface FamilyResult {
  additions: Addition[];
  diagnostics: Diagnostic[];
  /** Directories for the entries' --library-path: where a library the program loads by path
   * lives that the family's libraries need by name (the JVM's lib/server/libjvm.so). */
  libraryDirs?: string[];
  /** Parts the family reports that were in the bundle already (node: the node binary). */
  present?: PartSummary[];
}

export interface CollectFamily {
  /** Name in summaries and reasons (`python`). */
  name: string;
  detect(input: CollectInput): FamilyResult;
}

/** A `collected` reason of `family`. */
export function collected(family: string, what: string): Addition['reason'] {
  return { kind: 'collected', family, what };
}
