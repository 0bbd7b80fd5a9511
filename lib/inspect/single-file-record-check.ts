// The record stream of a single file checked as the runner reads it (native/src/single/records.rs,
// format in docs/bundle-format.md), without writing anything: fed the inflated members in order,
// it names the first record the runner would refuse. So verify's "ok" means the file extracts.
const KINDS = new Set(['d', 'f', 'l', 'h']);
/** records.rs's MAX_NAME. */
const MAX_NAME = 1 << 16;
/** kind u8, mode u32, seconds i64, nanoseconds u32, name length u32. */
const HEAD = 21;

export class RecordCheck {
  private leftover: Buffer = Buffer.alloc(0);
  /** File content still to pass over, bytes. */
  private skip = 0;
  private readonly dirs = new Set<string>();
  private readonly files = new Set<string>();
  private readonly paths = new Set<string>();
  private problem: string | undefined;
  records = 0;

  /** The next inflated bytes of the stream. */
  feed(chunk: Buffer): void {
    if (this.problem !== undefined) return;
    let buf = this.leftover.length > 0 ? Buffer.concat([this.leftover, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - at);
        this.skip -= n;
        at += n;
        if (this.skip > 0) break;
      }
      const used = this.record(buf, at);
      if (used === 0 || this.problem !== undefined) break;
      at += used;
    }
    buf = buf.subarray(at);
    this.leftover = Buffer.from(buf); // a partial record head: at most a few names long
  }

  /** The first problem, or an end inside a record; undefined when the stream was whole. */
  finish(): string | undefined {
    if (this.problem === undefined && (this.skip > 0 || this.leftover.length > 0)) this.problem = "the bundle's records end early";
    return this.problem;
  }

  /** Parse the record at `at` if it is all there: the bytes it takes (its head and names; a
   * file's content is left to `skip`), or 0 when more is needed. */
  private record(buf: Buffer, at: number): number {
    if (buf.length - at < HEAD) return 0;
    const kind = String.fromCharCode(buf[at]!);
    const nanos = buf.readUInt32LE(at + 13);
    const nameLength = buf.readUInt32LE(at + 17);
    if (!KINDS.has(kind)) return this.fail(`unknown record kind ${buf[at]} in the bundle`);
    if (nameLength > MAX_NAME) return this.fail(`a name of ${nameLength} bytes in the bundle`);
    let end = at + HEAD + nameLength;
    if (buf.length < end) return 0;
    const name = buf.subarray(at + HEAD, end).toString('latin1');
    let target: string | undefined;
    if (kind === 'f') {
      if (buf.length < end + 8) return 0;
      const size = buf.readBigUInt64LE(end);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail(`${name} claims ${size} bytes`);
      this.skip = Number(size);
      end += 8;
    } else if (kind === 'l' || kind === 'h') {
      if (buf.length < end + 4) return 0;
      const length = buf.readUInt32LE(end);
      if (length > MAX_NAME) return this.fail(`a name of ${length} bytes in the bundle`);
      if (buf.length < end + 4 + length) return 0;
      target = buf.subarray(end + 4, end + 4 + length).toString('latin1');
      end += 4 + length;
    }
    if (nanos >= 1_000_000_000) return this.fail(`a time with ${nanos} nanoseconds in the bundle`);
    const rel = normalized(name);
    const refused = rel === undefined ? `unsafe path ${JSON.stringify(name)} in the bundle` : this.add(kind, rel, target);
    return refused === undefined ? end - at : this.fail(refused);
  }

  /** Record `name` (normalized) of `kind` as the runner would; why it refuses it, if it does. */
  private add(kind: string, name: string, target: string | undefined): string | undefined {
    const cut = name.lastIndexOf('/');
    if (cut > 0 && !this.dirs.has(name.slice(0, cut))) return `${name} comes before its directory in the bundle`;
    // The runner creates each path anew (never over an earlier record).
    if (this.paths.has(name)) return `${name} comes twice in the bundle`;
    if (kind === 'h') {
      const linked = normalized(target!);
      if (linked === undefined) return `unsafe path ${JSON.stringify(target)} in the bundle`;
      if (!this.files.has(linked)) return `${name} links to ${target}, which is no earlier file of the bundle`;
    }
    this.paths.add(name);
    if (kind === 'd') this.dirs.add(name);
    if (kind === 'f') this.files.add(name);
    this.records += 1;
    return undefined;
  }

  private fail(why: string): number {
    this.problem = why;
    return 0;
  }
}

/** The path as the runner's safe_relative takes it (Rust's Path components: '//' and a '.' inside
 * are dropped), or undefined where it refuses it (empty, absolute, a leading '.', any '..'). */
function normalized(p: string): string | undefined {
  if (p === '' || p.startsWith('/') || p === '.' || p.startsWith('./')) return undefined;
  const parts = p.split('/').filter((part) => part !== '' && part !== '.');
  return parts.length === 0 || parts.includes('..') ? undefined : parts.join('/');
}
