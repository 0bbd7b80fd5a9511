// The npm packages a built JavaScript file names: the bare specifiers of its require(),
// import() and import/export ... from. For an app with no package.json of its own (an Nx
// build output in a monorepo whose one package.json is the workspace's), these are the roots of
// its dependency closure. A scan, not a parse: a specifier built at run time is the trace's to
// catch, and a name in a comment or string costs at most one package too many. Pure.
import { builtinModules } from 'node:module';

const BUILTINS = new Set(builtinModules);
const PATTERNS = [
  /\brequire\s*\(\s*(['"`])([^'"`\n]+)\1\s*\)/g,
  /\bimport\s*\(\s*(['"`])([^'"`\n]+)\1\s*\)/g,
  // import x from 'y', import { a,\n b } from 'y', import 'y', export * from 'y'
  /(?:^|[;\s}])(?:import|export)\s+(?:[^'";]*?\s*from\s*)?(['"])([^'"\n]+)\1/g,
];

/** The package names (`ms`, `@scope/name`) `source` requires or imports, sorted, without
 * Node's builtins, relative or absolute paths, and `#` subpath imports. */
export function importedPackages(source: string): string[] {
  const out = new Set<string>();
  for (const pattern of PATTERNS) {
    for (const m of source.matchAll(pattern)) {
      const name = packageNameOf(m[2]!);
      if (name !== undefined) out.add(name);
    }
  }
  return [...out].sort();
}

/** `ms` → ms, `@s/n/sub` → @s/n, `lodash/fp` → lodash; undefined for what is no package. */
export function packageNameOf(specifier: string): string | undefined {
  if (/^(\.|\/|#|node:|[a-z][a-z0-9+.-]*:)/i.test(specifier)) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  if (BUILTINS.has(name) || BUILTINS.has(specifier)) return undefined;
  // npm names: lower case, no spaces; a template literal with ${...} is not one.
  return /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name) && (!name.startsWith('@') || parts.length >= 2) ? name : undefined;
}
