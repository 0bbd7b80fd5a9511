// Locales in host run mode. glibc looks a locale up in its locale-archive at a path compiled into
// it (/usr/lib/locale/locale-archive), which in host mode is the target's: missing there, or made
// by another glibc whose data the bundled one refuses, and the program runs in the C locale without
// a word (LANG=de_DE.UTF-8 date printed "Thu Jan 1" on bullseye, validation ok). LOCPATH sends
// glibc to locale directories instead (and turns the archive off), so the package step writes each
// locale of a bundled archive out as the directory `localedef --no-archive` makes, the same bytes
// (spec/package/locales.spec.ts compares them), beside the archive, which the payload-as-root
// modes still read at its own path. Locales share most of their data: the store keeps each
// distinct file once. Format: glibc's locale/locarchive.h (little-endian on x86-64).
import { closeSync, fstatSync, mkdirSync, readSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import type { Diagnostic } from '../model/closure';
import type { PlanFile } from '../model/plan';
import { ancestorsOf } from '../util/lexical-path';
import { openRegularFile } from '../util/regular-file';

/** A bundled archive and the directory its locales are written out in. */
export const LOCALE_ARCHIVE = /^(.*\/lib\/locale)\/locale-archive$/;
const MAGIC = 0xde020109;
const HEADER = 56;
const NAMEHASH_ENTRY = 12;
/** The categories by their number (LC_ALL, 6, has no data of its own); LC_MESSAGES is a directory. */
const CATEGORIES = ['LC_CTYPE', 'LC_NUMERIC', 'LC_TIME', 'LC_COLLATE', 'LC_MONETARY', 'LC_MESSAGES/SYS_LC_MESSAGES', undefined, 'LC_PAPER', 'LC_NAME', 'LC_ADDRESS', 'LC_TELEPHONE', 'LC_MEASUREMENT', 'LC_IDENTIFICATION'];
const LOCREC = 4 + CATEGORIES.length * 8;
/** More locales than any archive holds (Debian's locales-all has about 500). */
const MAX_LOCALES = 4096;
/** A locale's name as a directory: one path component, the characters locale names use. */
const LOCALE_NAME = /^(?!\.\.?$)[A-Za-z0-9_.@+=,-]{1,255}$/;

/** What of a plan says which locales are there already. */
export type LocalePlan = { files: Array<{ path: string }>; symlinks: Array<{ path: string }>; dirs: string[] };

export interface ArchivedLocale {
  name: string;
  /** Each category's file (relative to the locale's directory) and its bytes' place in the archive. */
  files: Array<{ file: string; offset: number; length: number }>;
}

/** The locales of the archive open at `fd` (`where` names it in errors). */
export function readLocaleArchive(fd: number, size: number, where: string): ArchivedLocale[] {
  const bad = (why: string) =>
    new SidebundleError('LOCALE_ARCHIVE_BAD', `${where} is not a locale archive glibc can read: ${why}`, {
      input: where,
      kind: 'input',
      hint: 'regenerate it (locale-gen, or localedef) or leave it out of the bundle; glibc cannot use it either',
    });
  const read = (offset: number, length: number): Buffer => {
    if (offset < 0 || length < 0 || offset + length > size) throw bad(`a table at ${offset} (+${length}) lies past its end (${size} bytes)`);
    const bytes = Buffer.alloc(length);
    if (readSync(fd, bytes, 0, length, offset) !== length) throw bad('it changed while it was read');
    return bytes;
  };
  const header = read(0, HEADER);
  if (header.readUInt32LE(0) !== MAGIC) throw bad(`its magic number is 0x${header.readUInt32LE(0).toString(16)}, not 0x${MAGIC.toString(16)}`);
  const [offset, slots] = [header.readUInt32LE(8), header.readUInt32LE(16)];
  const table = read(offset, slots * NAMEHASH_ENTRY);
  const locales: ArchivedLocale[] = [];
  const names = new Set<string>();
  for (let slot = 0; slot < slots; slot++) {
    const nameAt = table.readUInt32LE(slot * NAMEHASH_ENTRY + 4);
    const recordAt = table.readUInt32LE(slot * NAMEHASH_ENTRY + 8);
    // An empty slot, or a deleted locale (localedef --delete-from-archive keeps the name and
    // clears the record), as glibc skips them.
    if (nameAt === 0 || recordAt === 0) continue;
    const name = cString(read(nameAt, Math.min(256, size - nameAt)));
    if (!LOCALE_NAME.test(name)) throw bad(`a locale is named ${JSON.stringify(name)}, which is no directory name`);
    if (names.has(name)) throw bad(`the locale ${name} is listed twice`);
    if (names.add(name).size > MAX_LOCALES) throw bad(`it lists more than ${MAX_LOCALES} locales`);
    const record = read(recordAt, LOCREC);
    const files = CATEGORIES.flatMap((file, n) => {
      if (file === undefined) return [];
      const [at, length] = [record.readUInt32LE(4 + n * 8), record.readUInt32LE(8 + n * 8)];
      if (at + length > size) throw bad(`${name}'s ${file} lies past its end`);
      return [{ file, offset: at, length }];
    });
    locales.push({ name, files });
  }
  return locales.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('latin1', 0, end < 0 ? bytes.length : end);
}

/**
 * The files of every locale of each archive among `files`, read out into `scratch` (one file
 * per distinct piece of data) for the packager to store with the others, in the same pass (it
 * places identical files as links of one another, and the manifest must say what it placed); a
 * locale the plan already has a directory or link of is left as it is.
 */
export function writeOutLocales(files: PlanFile[], plan: LocalePlan, scratch: string): { files: PlanFile[]; diagnostics: Diagnostic[] } {
  const out: PlanFile[] = [];
  const diagnostics: Diagnostic[] = [];
  let present: Set<string> | undefined; // the plan's paths, listed once an archive is found
  let pieces = 0;
  for (const archive of files) {
    const dir = LOCALE_ARCHIVE.exec(archive.path)?.[1];
    if (dir === undefined) continue;
    present ??= takenPaths(plan);
    const fd = openRegularFile(archive.source);
    try {
      const written = new Map<string, { source: string; sha256: string }>();
      let locales: ArchivedLocale[];
      try {
        locales = readLocaleArchive(fd, fstatSync(fd).size, archive.path);
      } catch (error) {
        if (!(error instanceof SidebundleError)) throw error;
        // glibc ignores such an archive too (the program ran in the C locale where it was traced).
        diagnostics.push({ level: 'warning', code: error.code, message: `${error.message}; none of its locales is written out, so in host run mode the bundle's programs run in the C locale`, input: archive.path });
        continue;
      }
      mkdirSync(scratch, { recursive: true });
      for (const locale of locales) {
        const at = `${dir}/${locale.name}`;
        if (present.has(at)) continue;
        for (const { file, offset, length } of locale.files) {
          const key = `${offset}:${length}`;
          let piece = written.get(key);
          if (piece === undefined) {
            const bytes = Buffer.alloc(length);
            if (readSync(fd, bytes, 0, length, offset) !== length) throw new Error(`${archive.path} changed while its locales were written out`);
            piece = { source: path.join(scratch, `${pieces++}`), sha256: createHash('sha256').update(bytes).digest('hex') };
            writeFileSync(piece.source, bytes, { mode: 0o644 });
            written.set(key, piece);
          }
          out.push({
            path: `${at}/${file}`, source: piece.source, sha256: piece.sha256, size: length, mode: 0o644, kind: 'data',
            reasons: [{ kind: 'collected', family: 'locale', what: `${file} of ${locale.name}, written out of ${archive.path} for LOCPATH (host run mode)` }],
          });
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  return { files: out, diagnostics };
}

/** Every path a plan has and each directory above it: a locale already there is not written. */
function takenPaths(plan: LocalePlan): Set<string> {
  const taken = new Set<string>();
  for (const p of [...plan.files.map((f) => f.path), ...plan.symlinks.map((l) => l.path), ...plan.dirs]) {
    for (const above of ancestorsOf(p)) taken.add(above);
    taken.add(p);
  }
  return taken;
}
