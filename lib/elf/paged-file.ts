// Random access to a file in page-sized, cached reads, checked against the file size: a read past
// the end is a typed error, never a short buffer or an allocation the file cannot back.
import { readSync } from 'node:fs';

import { MAX_STRING } from './limits';
import { malformed, truncated } from './problems';

const PAGE = 4096;

export class PagedFile {
  private readonly pages = new Map<number, Buffer>();

  constructor(
    private readonly fd: number,
    readonly size: number,
    readonly path: string,
  ) {}

  /** Where the bytes `locate` found start in the buffer it returned. */
  base = 0;

  read(offset: number, length: number, what: string): Buffer {
    this.check(offset, length, what);
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const page = this.page(Math.floor(at / PAGE));
      const within = at % PAGE;
      done += page.copy(out, done, within, Math.min(page.length, within + (length - done)));
    }
    return out;
  }

  /**
   * The buffer holding bytes offset..offset+length (checked as `read` checks them), with `base`
   * set to where they start in it: the cached page itself when they lie in one page (no copy, no
   * allocation: the reader's fields are decoded from it with plain byte arithmetic), a copy otherwise.
   */
  locate(offset: number, length: number, what: string): Buffer {
    this.check(offset, length, what);
    const index = Math.floor(offset / PAGE);
    const within = offset - index * PAGE;
    if (within + length <= PAGE) {
      this.base = within;
      return this.page(index);
    }
    this.base = 0;
    return this.read(offset, length, what);
  }

  private check(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw truncated(this.path, `${what} (bytes ${offset}..${offset + length}) lies past the end of the file (${this.size} bytes)`);
    }
  }

  /** A NUL-terminated string starting at `offset`, not reaching past `limit` nor MAX_STRING bytes. */
  cstring(offset: number, limit: number, what: string): string {
    const end = Math.min(limit, this.size, offset + MAX_STRING);
    if (offset < 0 || offset >= end) throw malformed(this.path, `${what} starts outside its table (offset ${offset})`);
    const parts: Buffer[] = [];
    for (let at = offset; at < end; ) {
      const page = this.page(Math.floor(at / PAGE));
      const within = at % PAGE;
      const stop = Math.min(page.length, within + (end - at));
      const nul = page.indexOf(0, within);
      if (nul !== -1 && nul < stop) {
        if (parts.length === 0) return page.toString('utf8', within, nul);
        parts.push(page.subarray(within, nul));
        return Buffer.concat(parts).toString('utf8');
      }
      parts.push(page.subarray(within, stop));
      at += stop - within;
    }
    throw malformed(this.path, `${what} at offset ${offset} is not NUL-terminated within ${end - offset} bytes`);
  }

  private page(index: number): Buffer {
    let page = this.pages.get(index);
    if (page === undefined) {
      const start = index * PAGE;
      const length = Math.min(PAGE, this.size - start);
      page = Buffer.allocUnsafe(length);
      const bytesRead = readSync(this.fd, page, 0, length, start);
      if (bytesRead !== length) throw truncated(this.path, `short read at offset ${start}`);
      this.pages.set(index, page);
    }
    return page;
  }
}

/** The dynamic string table, with one budget of bytes for the whole file. */
export class StringTable {
  private spent = 0;

  constructor(
    private readonly file: PagedFile,
    private readonly start: number,
    private readonly end: number,
    private readonly budget: number,
  ) {}

  at(index: number, what: string): string {
    const text = this.file.cstring(this.start + index, this.end, what);
    // Many entries may name one long string; the budget, not the entry count, bounds the bytes.
    this.spent += Buffer.byteLength(text) + 1;
    if (this.spent > this.budget) {
      throw malformed(this.file.path, `its dynamic entries name more than ${this.budget} bytes of strings (at ${what})`);
    }
    return text;
  }
}

// Little-endian fields decoded with byte arithmetic, from bytes `locate` returned (so never past
// them). The reader runs once per process, cold: each Buffer#readUInt32LE is a call into a
// bounds-checked library function and each readBigUInt64LE allocates a BigInt, which cost more
// than the few reads of a file. Here, not in a module of their own: one more module is one more
// file found, read and compiled at every start.

export function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/** A 64-bit field as a number, or -1 when it is above Number.MAX_SAFE_INTEGER (2^53 - 1). */
export function u64(b: Uint8Array, at: number): number {
  const high = u32(b, at + 4);
  return high > 0x1fffff ? -1 : high * 0x100000000 + u32(b, at);
}

/** The 64-bit field in hexadecimal, for messages about a value u64 refused. */
export function hex64(b: Uint8Array, at: number): string {
  return ((BigInt(u32(b, at + 4)) << 32n) | BigInt(u32(b, at))).toString(16);
}
