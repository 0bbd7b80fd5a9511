// The JVM: a java program (a jar entry run by `java -jar`, java itself, or a JDK launcher such
// as keytool) gets the runtime home it runs from, whole and with its layout kept: the JVM finds
// libjvm.so through lib/jvm.cfg, dlopens libjava, libnet, libnio... from lib/ as classes need
// them, and reads lib/modules, conf/, lib/tzdb.dat and lib/security relative to its own path, so a
// traced run catches only what its classes touched. What only development or a desktop needs is
// left out (see LEFT_OUT). A jar entry also gets its manifest's Class-Path, transitively.
import * as path from 'node:path';

import { isSidebundleError } from '../errors';
import type { Diagnostic, ResolvedEntry } from '../model/closure';
import { readZipMember } from '../util/zip';
import { classPathOf, manifestAttributes } from './jar-manifest';
import { collected, type Addition, type CollectFamily, type CollectInput, type FamilyResult } from './family';
import { isDir, isFile, listTree, type Skip } from './tree';

const FAMILY = 'jvm';

/** Top-level parts of a JDK home that nothing reads at run time. */
const DEV_DIRS = ['include', 'jmods', 'man', 'docs', 'demo', 'sample'];
/** Files of lib/ that only javac (ct.sym), an IDE (src.zip) or a heap over 32 GiB
 * (classes_nocoops.jsa, the class data archive without compressed oops) use. */
const DEV_FILES = ['lib/src.zip', 'lib/ct.sym', 'lib/server/classes_nocoops.jsa'];
/** Libraries for a desktop (X11 windows, splash screens, sound, accessibility): a headless
 * program never loads them, and they pull in X11 and ALSA. Kept with --collect full. */
const DESKTOP_LIBS = ['lib/libawt_xawt.so', 'lib/libsplashscreen.so', 'lib/libjawt.so', 'lib/libatk-wrapper.so', 'lib/libjsound.so'];
const LEFT_OUT = `${DEV_DIRS.join('/, ')}/, ${DEV_FILES.join(', ')}`;

export const jvmFamily: CollectFamily = { name: FAMILY, detect };

/** The runtime home of a JVM program (`<home>/bin/java`), or undefined. */
export function jvmHomeOf(input: Pick<CollectInput, 'fs'>, program: string): string | undefined {
  const bin = path.posix.dirname(program);
  if (path.posix.basename(bin) !== 'bin') return undefined;
  const home = path.posix.dirname(bin);
  return isFile(input.fs, `${home}/lib/modules`) && isFile(input.fs, `${home}/lib/jvm.cfg`) ? home : undefined;
}

/** Whether a resolved entry is a jar run by `java -jar`. */
export function isJarEntry(entry: ResolvedEntry): boolean {
  const first = entry.script?.args[0];
  return first !== undefined && 'literal' in first && first.literal === '-jar';
}

function detect(input: CollectInput): FamilyResult {
  const additions: Addition[] = [];
  const diagnostics: Diagnostic[] = [];
  const homes = new Map<string, string>(); // home -> the first entry that runs it
  for (const entry of input.entries) {
    const home = jvmHomeOf(input, entry.script?.interpreter ?? entry.target);
    if (home !== undefined && !homes.has(home)) homes.set(home, entry.name);
  }
  // A JVM the entry started (a wrapper script's java): its libjvm.so is in the traced closure.
  for (const file of input.files) {
    const m = /^(.*)\/lib\/server\/libjvm\.so$/.exec(file.path);
    if (m && !homes.has(m[1]!) && isFile(input.fs, `${m[1]}/lib/modules`)) homes.set(m[1]!, path.posix.basename(m[1]!));
  }
  for (const [home, by] of homes) {
    additions.push(...runtimeOf(input, home, by));
    diagnostics.push({ level: 'info', code: 'COLLECT_JVM_LEFT_OUT', message: `jvm ${home}: the runtime is shipped without ${LEFT_OUT}${input.policy === 'full' ? '' : `, and without the desktop libraries ${DESKTOP_LIBS.map((l) => path.posix.basename(l)).join(', ')} (--collect full keeps them)`}`, input: home });
  }
  for (const entry of input.entries.filter(isJarEntry)) {
    const found = classPathAdditions(input, entry.target);
    additions.push(...found.additions);
    diagnostics.push(...found.diagnostics);
  }
  // libjava.so and the others need libjvm.so by name and find it loaded; on the library path
  // the bundle's checks find it too.
  const libraryDirs = [...homes.keys()].map((home) => `${home}/lib/server`).filter((dir) => isFile(input.fs, `${dir}/libjvm.so`));
  return { additions, diagnostics, ...(libraryDirs.length ? { libraryDirs } : {}) };
}

function runtimeOf(input: CollectInput, home: string, by: string): Addition[] {
  const reason = collected(FAMILY, `jvm runtime of ${by}`);
  const full = input.policy === 'full';
  const skip: Skip = (rel) => (!rel.includes('/') && DEV_DIRS.includes(rel)) || DEV_FILES.includes(rel) || (!full && DESKTOP_LIBS.includes(rel));
  return listTree(input.fs, home, skip)
    // A link whose target this machine lacks (Debian's src.zip without openjdk-src) is not shipped.
    .filter((e) => !e.link || isFile(input.fs, e.path) || isDir(input.fs, e.path))
    .map((e) => ({
      path: e.path,
      reason,
      part: 'runtime',
      // A library whose own libraries are absent (X11 for AWT) is left out with a note.
      ...(e.relative.endsWith('.so') ? { droppable: `jvm library ${e.relative}` } : {}),
    }));
}

/** The Class-Path of a jar and of the jars it names, transitively (the JVM follows them all). */
function classPathAdditions(input: CollectInput, jar: string): FamilyResult {
  const additions: Addition[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>([jar]);
  const queue = [jar];
  while (queue.length > 0) {
    const current = queue.shift()!;
    const value = classPathValue(input, current, current === jar, diagnostics);
    if (value === undefined) continue;
    const reason = collected(FAMILY, `class path of ${path.posix.basename(current)}`);
    for (const element of classPathOf(current, value)) {
      if (seen.has(element)) continue;
      seen.add(element);
      if (isDir(input.fs, element)) {
        additions.push(...listTree(input.fs, element).map((e) => ({ path: e.path, reason, part: 'class path' })));
      } else if (isFile(input.fs, element)) {
        additions.push({ path: element, reason, part: 'class path' });
        if (element.endsWith('.jar')) queue.push(element);
      } else {
        diagnostics.push({ level: 'warning', code: 'COLLECT_JVM_CLASS_PATH_MISSING', message: `jvm: ${current} names ${element} in its Class-Path, which does not exist (the JVM skips it; classes from it will be missing)`, input: current });
      }
    }
  }
  return { additions, diagnostics };
}

/** A jar's Class-Path attribute. An unreadable entry jar is an error; an unreadable jar on its
 * class path is a warning (the JVM skips it too). */
function classPathValue(input: CollectInput, jar: string, isEntry: boolean, diagnostics: Diagnostic[]): string | undefined {
  const walk = input.fs.resolve(jar);
  if (walk === null) return undefined;
  try {
    const manifest = readZipMember(input.fs.hostPath(walk.path), 'META-INF/MANIFEST.MF');
    return manifest === undefined ? undefined : manifestAttributes(manifest.toString('utf8')).get('class-path');
  } catch (error) {
    if (isEntry || !isSidebundleError(error)) throw error;
    diagnostics.push({ level: 'warning', code: 'COLLECT_JVM_JAR_UNREADABLE', message: error.message, input: jar });
    return undefined;
  }
}
