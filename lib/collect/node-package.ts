// What of an installed npm package a program needs at run time: the package whole, minus what
// its authors only need to develop, document or build it (tests, docs, *.md but the licence,
// type declarations, source maps unless asked, an addon's C sources and build intermediates),
// and minus prebuilt addons of other platforms under prebuilds/ (node-gyp-build's layout:
// prebuilds/<platform>-<arch>[+<arch>...]/). Pure: paths in, verdicts out.

/** The platform prebuilt binaries are kept for (the bundles are x86-64 Linux). */
export const PREBUILD_PLATFORM = { platform: 'linux', arch: 'x64' } as const;

/** Why a file is left out, or undefined to ship it. */
export type Pruned = 'prebuild' | 'dev' | 'build' | undefined;

export interface PruneOptions {
  /** The package builds a native addon (has binding.gyp): its sources and build tree go. */
  addon: boolean;
  /** Keep docs, tests, declarations and source maps (--collect full). */
  whole: boolean;
}

const DEV_DIRS_ANYWHERE = new Set(['test', 'tests', '__tests__', '__mocks__', '.github', '.vscode', '.idea', 'coverage', '.nyc_output', '.circleci']);
const DEV_DIRS_TOP = new Set(['docs', 'doc', 'example', 'examples', 'benchmark', 'benchmarks', 'bench']);
const DEV_FILES = /(\.(md|markdown|d\.ts|d\.mts|d\.cts|tsbuildinfo)|^\.(npmignore|eslintrc.*|prettierrc.*|travis\.yml|editorconfig|gitattributes|jshintrc|nycrc.*))$/i;
const LICENCE = /^(licen[cs]e|copying|notice)/i;
const ADDON_SOURCES = /(\.(c|cc|cpp|cxx|h|hh|hpp|hxx|gyp|gypi|o|a|obj|mk)|^Makefile)$/;

/** The verdict on one path of a package (relative to its directory). */
export function prunedAs(relative: string, options: PruneOptions): Pruned {
  const parts = relative.split('/');
  const name = parts[parts.length - 1]!;
  const prebuild = parts.indexOf('prebuilds');
  if (prebuild >= 0 && parts.length > prebuild + 2 && !isOurPlatform(parts[prebuild + 1]!)) return 'prebuild';
  if (options.addon) {
    // node-gyp's output: only the addons in build/Release (or Debug) are loaded.
    if (parts[0] === 'build' && !name.endsWith('.node')) return 'build';
    if (parts[0] === 'build' && parts.some((p) => p.startsWith('obj'))) return 'build';
    if (ADDON_SOURCES.test(name)) return 'build';
  }
  if (options.whole) return undefined;
  if (parts.slice(0, -1).some((p) => DEV_DIRS_ANYWHERE.has(p))) return 'dev';
  if (parts.length > 1 && DEV_DIRS_TOP.has(parts[0]!)) return 'dev';
  if (name.endsWith('.map')) return 'dev';
  if (DEV_FILES.test(name) && !LICENCE.test(name)) return 'dev';
  return undefined;
}

/** prebuilds/linux-x64, prebuilds/linux-x64+arm64: yes; darwin-*, win32-*, linux-arm64: no. */
export function isOurPlatform(dir: string): boolean {
  const dash = dir.indexOf('-');
  if (dash < 0) return false;
  return dir.slice(0, dash) === PREBUILD_PLATFORM.platform && dir.slice(dash + 1).split('+').includes(PREBUILD_PLATFORM.arch);
}

/** The platform directory of a pruned prebuild (for the report). */
export function prebuildPlatform(relative: string): string | undefined {
  const parts = relative.split('/');
  const at = parts.indexOf('prebuilds');
  return at >= 0 ? parts[at + 1] : undefined;
}
