// The symbol-version tables (DT_VERNEED, DT_VERDEF): chains of fixed-size entries linked by
// offsets relative to each entry. A hostile file can declare counts its bytes cannot hold, or
// point every need at one long chain of auxiliary entries (65,535 x 65,535 walks from 2 MB), so
// every entry must lie inside its table, none is read twice, and totals are capped.
import * as C from './constants';
import { MAX_NEEDED_VERSIONS, MAX_VERSION_DEFS, MAX_VERSION_NEEDS } from './limits';
import { u16, u32, type PagedFile, type StringTable } from './paged-file';
import { malformed } from './problems';
import type { VersionNeed } from './types';

/** File offsets of a version table: from its first entry to the end of the segment bytes holding it. */
export interface TableExtent {
  start: number;
  end: number;
}

/** Reads the entries of one table, each once and only inside the table. */
class TableWalk {
  private readonly seen = new Set<number>();

  constructor(
    private readonly file: PagedFile,
    private readonly extent: TableExtent,
    readonly name: string,
  ) {}

  /** A declared count (DT_VERNEEDNUM, DT_VERDEFNUM) must be one the table's bytes can hold. */
  checkDeclared(tag: string, declared: number | undefined, max: number, size: number): void {
    if (declared === undefined) return;
    if (declared > max) throw malformed(this.file.path, `${tag} is ${declared}, more than the ${max} entries sidebundle reads`);
    this.checkRoom(this.extent.start, declared, size, tag);
  }

  /** The buffer holding the entry at `at`; its first byte is at `this.file.base` in it. */
  entry(at: number, size: number, what: string): Buffer {
    if (at < this.extent.start || at + size > this.extent.end) {
      throw malformed(this.file.path, `${what} at offset ${at} lies outside the ${this.name} table (bytes ${this.extent.start}..${this.extent.end})`);
    }
    if (this.seen.has(at)) throw malformed(this.file.path, `${what} at offset ${at} is reached twice in the ${this.name} table (its links loop or overlap)`);
    this.seen.add(at);
    return this.file.locate(at, size, what);
  }

  /** `count` entries of `size` bytes, linked with a step of at least `size`, fit from `at` on. */
  checkRoom(at: number, count: number, size: number, what: string): void {
    if (at + count * size > this.extent.end) {
      throw malformed(this.file.path, `${what} claims ${count} entries, more than the ${Math.max(0, this.extent.end - at)} bytes of the ${this.name} table can hold`);
    }
  }

  /** The offset of the next entry, or undefined at the end of the chain. */
  next(at: number, link: number, size: number, what: string): number | undefined {
    if (link === 0) return undefined;
    // A link shorter than an entry would make entries overlap, so counts could outrun the bytes.
    if (link < size) throw malformed(this.file.path, `${what} at offset ${at} links ${link} bytes on, inside itself (an entry is ${size} bytes)`);
    return at + link;
  }
}

export function readVersionNeeds(file: PagedFile, extent: TableExtent, declared: number | undefined, strings: StringTable): VersionNeed[] {
  const walk = new TableWalk(file, extent, 'version-need');
  walk.checkDeclared('DT_VERNEEDNUM', declared, MAX_VERSION_NEEDS, C.VERNEED_SIZE);
  const needs: VersionNeed[] = [];
  let versions = 0;
  for (let at: number | undefined = extent.start; at !== undefined && needs.length < (declared ?? Infinity); ) {
    if (needs.length === MAX_VERSION_NEEDS) throw malformed(file.path, `its version-need chain is longer than ${MAX_VERSION_NEEDS} entries`);
    const entry = walk.entry(at, C.VERNEED_SIZE, 'a version-need entry');
    const e = file.base;
    const cnt = u16(entry, e + 2);
    versions += cnt;
    if (versions > MAX_NEEDED_VERSIONS) throw malformed(file.path, `its version needs claim more than ${MAX_NEEDED_VERSIONS} versions in total`);
    const need: VersionNeed = { file: strings.at(u32(entry, e + 4), 'a version-need file name'), versions: [] };
    let auxAt: number | undefined = at + u32(entry, e + 8);
    const next = u32(entry, e + 12);
    if (cnt > 0) walk.checkRoom(auxAt, cnt, C.VERNAUX_SIZE, `the version need for ${need.file}`);
    for (let k = 0; k < cnt && auxAt !== undefined; k++) {
      const aux = walk.entry(auxAt, C.VERNAUX_SIZE, 'a version-need auxiliary entry');
      const a = file.base;
      const auxNext = u32(aux, a + 12);
      need.versions.push(strings.at(u32(aux, a + 8), 'a needed version name'));
      auxAt = walk.next(auxAt, auxNext, C.VERNAUX_SIZE, 'a version-need auxiliary entry');
    }
    needs.push(need);
    at = walk.next(at, next, C.VERNEED_SIZE, 'a version-need entry');
  }
  return needs;
}

export function readVersionDefs(file: PagedFile, extent: TableExtent, declared: number | undefined, strings: StringTable): string[] {
  const walk = new TableWalk(file, extent, 'version-definition');
  walk.checkDeclared('DT_VERDEFNUM', declared, MAX_VERSION_DEFS, C.VERDEF_SIZE);
  const defs: string[] = [];
  let read = 0;
  for (let at: number | undefined = extent.start; at !== undefined && read < (declared ?? Infinity); read++) {
    if (read === MAX_VERSION_DEFS) throw malformed(file.path, `its version-definition chain is longer than ${MAX_VERSION_DEFS} entries`);
    const entry = walk.entry(at, C.VERDEF_SIZE, 'a version-definition entry');
    const e = file.base;
    const flags = u16(entry, e + 2);
    const cnt = u16(entry, e + 6);
    const next = u32(entry, e + 16);
    if (cnt > 0 && (flags & C.VER_FLG_BASE) === 0) {
      // Only the first auxiliary entry names the version (the rest name its parents), and two
      // definitions sharing one costs nothing, so it is bounds-checked but not marked as read.
      const auxAt = at + u32(entry, e + 12);
      if (auxAt + C.VERDAUX_SIZE > extent.end) {
        throw malformed(file.path, `a version-definition auxiliary entry at offset ${auxAt} lies outside the version-definition table`);
      }
      const aux = file.locate(auxAt, C.VERDAUX_SIZE, 'a version-definition auxiliary entry');
      defs.push(strings.at(u32(aux, file.base), 'a defined version name'));
    }
    at = walk.next(at, next, C.VERDEF_SIZE, 'a version-definition entry');
  }
  return defs;
}
