// Environment a launcher sets so that a program finds its bundled files in host run mode, where
// the paths compiled into it (/usr/lib/python3.11, /usr/lib/git-core, /usr/lib/locale) still
// point at the target's filesystem. Each rule fires only when the files it points at are in the
// launcher's payload, and only for the programs it concerns; --set-env overrides any of them.
// Programs that open absolute paths no variable can redirect need a run mode that makes the
// payload the root (bwrap, chroot, ns).
//
// | variable        | when                                                     | value                          |
// | PYTHONHOME      | the program is pythonX.Y and <P>/lib/pythonX.Y/os.py is bundled | <P>                       |
// | PERL5LIB        | the program is perl and Perl library directories are bundled | those directories, in @INC order |
// | GIT_EXEC_PATH   | the program is git and <P>/lib/git-core is bundled       | exec/<P>/lib/git-core: a mirror with a launcher per program, since git executes them by path |
// | GIT_TEMPLATE_DIR| the program is git and <P>/share/git-core/templates is bundled | that directory            |
// | LOCPATH         | <P>/lib/locale/ holds bundled locale directories or a locale-archive (whose locales the package step writes out as directories: LOCPATH turns the archive off, and the compiled-in archive path is the target's) | that directory |
// | PYTHONTZPATH    | the program is pythonX.Y and time zone files are bundled  | Python's default path, then that directory (the target's zones first, the bundled as a fallback) |
// | OPENSSL_MODULES | OpenSSL 3 providers are bundled (.../ossl-modules/*.so)   | their directory                |
// | OPENSSL_ENGINES | OpenSSL engines are bundled (.../engines-N/*.so)          | their directory                |
// | GCONV_PATH      | a gconv-modules file is bundled                          | its directory                  |
// | TERMINFO_DIRS   | terminfo databases are bundled                           | their directories              |
// | MAGIC           | libmagic's magic.mgc is bundled                          | that file                      |
// | JAVA_HOME       | the program is <H>/bin/NAME and <H>/lib/modules is bundled (a JVM home) | <H>; also in the payload-as-root modes |
import * as path from 'node:path';

import type { LauncherPlan } from '../model/plan';

const ROOT = '${SIDEBUNDLE_ROOT}';
/** zoneinfo's compiled-in search path (sysconfig TZPATH on Debian and upstream). */
const PYTHON_TZPATH = ['/usr/share/zoneinfo', '/usr/lib/zoneinfo', '/usr/share/lib/zoneinfo', '/etc/zoneinfo'];

/** Perl's @INC directory shapes (Debian, Fedora, upstream layouts), in @INC order. */
const PERL_INC = [
  /^\/etc\/perl$/,
  /\/site_perl(\/[\d.]+)?$/,
  /\/lib\/[^/]*\/?perl\/[\d.]+$/,
  /\/share\/perl\/[\d.]+$/,
  /\/lib\/[^/]*\/?perl5\/[\d.]+$/,
  /\/share\/perl5$/,
  /\/vendor_perl$/,
  /\/lib\/[^/]*\/?perl-base$/,
  /\/perl5$/,
];

export interface EnvironmentRules {
  env: Record<string, string>;
  /** For the payload-as-root run modes, at logical paths (JAVA_HOME: a host's own JAVA_HOME
   * must not reach a program whose root has no such directory). */
  rootEnv: Record<string, string>;
  /** Directories whose programs the entry executes by path: they get a mirror of launchers
   * (exec/<dir>), and the variable points there instead of at the payload. */
  execDirs: Array<{ variable: string; dir: string }>;
}

/** Where the launchers mirroring a payload directory go. */
export function execMirror(payload: string, dir: string): string {
  return `exec/${payload}${dir}`;
}

/**
 * The rule-derived environment for `launcher`, given the logical paths of its payload's files.
 * Values are in the launcher's ${SIDEBUNDLE_ROOT} form.
 */
export function environmentFor(launcher: LauncherPlan, files: ReadonlySet<string>): EnvironmentRules {
  const env: Record<string, string> = {};
  const rootEnv: Record<string, string> = {};
  const execDirs: EnvironmentRules['execDirs'] = [];
  const inBundle = (logical: string) => `${ROOT}/${launcher.payload}${logical}`;
  const program = path.posix.basename(launcher.logicalProgram);

  const python = /^python(\d+\.\d+)$/.exec(program);
  if (python) {
    for (const file of files) {
      const m = /^(.*)\/lib\/python(\d+\.\d+)\/os\.py$/.exec(file);
      if (m && m[2] === python[1]) env.PYTHONHOME = inBundle(m[1] || '/');
    }
  }

  if (/^perl(5[\d.]*)?$/.test(program)) {
    const dirs = new Set<string>();
    for (const file of files) {
      if (!/\.(pm|pl|so|ix|al)$/.test(file)) continue;
      for (let dir = path.posix.dirname(file); dir !== '/'; dir = path.posix.dirname(dir)) {
        if (PERL_INC.some((shape) => shape.test(dir))) dirs.add(dir);
      }
    }
    const ordered = [...dirs].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
    if (ordered.length > 0) env.PERL5LIB = ordered.map(inBundle).join(':');
  }

  if (/^git(-|$)/.test(program)) {
    const execPath = firstMatch(files, /^(.*\/lib\/git-core)\//);
    if (execPath) {
      // git runs its helpers (git-remote-http, and git itself) from here by absolute path:
      // launchers, not the bare ELF files, must be there.
      env.GIT_EXEC_PATH = `${ROOT}/${execMirror(launcher.payload, execPath)}`;
      execDirs.push({ variable: 'GIT_EXEC_PATH', dir: execPath });
    }
    const templates = firstMatch(files, /^(.*\/share\/git-core\/templates)\//);
    if (templates) env.GIT_TEMPLATE_DIR = inBundle(templates);
  }

  // The JVM finds its home from its own path; JAVA_HOME is for what it starts (build tools,
  // wrapper scripts), as the original sidebundle sets it.
  const javaHome = path.posix.dirname(path.posix.dirname(launcher.logicalProgram));
  if (path.posix.basename(path.posix.dirname(launcher.logicalProgram)) === 'bin' && files.has(`${javaHome}/lib/modules`)) {
    env.JAVA_HOME = inBundle(javaHome);
    rootEnv.JAVA_HOME = javaHome;
  }

  const locale = firstMatch(files, /^(.*\/lib\/locale)\/(?:[^/]+\/LC_[A-Z_]+|locale-archive)$/);
  if (locale) env.LOCPATH = inBundle(locale);
  // Time zones: the traced few are bundled, the target's full set comes first (TZDIR, one
  // directory with no fallback, would hide it: glibc is left to the target's).
  const zoneinfo = firstMatch(files, /^(.*\/share\/zoneinfo)\/.+$/);
  if (zoneinfo && python) env.PYTHONTZPATH = [...PYTHON_TZPATH, inBundle(zoneinfo)].join(':');
  const providers = firstMatch(files, /^(.*\/ossl-modules)\/[^/]+\.so$/);
  if (providers) env.OPENSSL_MODULES = inBundle(providers);
  const engines = firstMatch(files, /^(.*\/engines-\d+)\/[^/]+\.so$/);
  if (engines) env.OPENSSL_ENGINES = inBundle(engines);
  const gconv = firstMatch(files, /^(.*\/gconv)\/gconv-modules$/);
  if (gconv) env.GCONV_PATH = inBundle(gconv);
  const terminfo = new Set<string>();
  for (const file of files) {
    const m = /^(.*\/terminfo)\/[^/]+\/[^/]+$/.exec(file);
    if (m) terminfo.add(m[1]!);
  }
  if (terminfo.size > 0) env.TERMINFO_DIRS = [...terminfo].sort().map(inBundle).join(':');
  const magic = firstMatch(files, /^(.*\/magic\.mgc)$/);
  if (magic) env.MAGIC = inBundle(magic);
  return { env, rootEnv, execDirs };
}

function rank(dir: string): number {
  const index = PERL_INC.findIndex((shape) => shape.test(dir));
  return index === -1 ? PERL_INC.length : index;
}

function firstMatch(files: ReadonlySet<string>, pattern: RegExp): string | undefined {
  const found: string[] = [];
  for (const file of files) {
    const m = pattern.exec(file);
    if (m) found.push(m[1]!);
  }
  return found.sort()[0];
}
