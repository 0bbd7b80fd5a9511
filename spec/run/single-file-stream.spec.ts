// Single files, format 4, on the host: extraction keeps every file's mtime (so Python's
// __pycache__ stays valid and a warm run writes nothing), a damaged or crafted stream is refused
// at the end with nothing kept and nothing written outside, an older format asks for a rebuild,
// and writing and extracting ~1 GiB of incompressible data stays within 100 MiB of RSS on each
// side (measured with /usr/bin/time -v; SIDEBUNDLE_SFX_MEMORY_MIB picks another size).
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';

import { writeSingleFile } from '../../lib/package/single-file';
import { runOnHost } from '../fixtures/run-in-root';
import { createBundle, repoRoot } from '../helpers/cli';
import { argvPrinter } from '../helpers/programs';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(900_000);

const dir = tempDir('sb-sfx-');
const runner = path.join(repoRoot, 'native/prebuilt/sidebundle-run');

/** Every file under `top` whose relative path matches `pattern`, with its mtime and size. */
function snapshot(top: string, pattern: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(top, rel), { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(relPath);
      else if (pattern.test(relPath)) {
        const st = statSync(path.join(top, relPath), { bigint: true });
        out[relPath] = `${st.mtimeNs} ${st.size}`;
      }
    }
  };
  walk('');
  return out;
}

describe('a single-file python3 (trace: import json)', () => {
  const cache = path.join(dir, 'py-cache');
  let single: string;
  let bundle: string;
  let copy: string;

  beforeAll(() => {
    const result = createBundle(['--name', 'py', '--out-dir', path.join(dir, 'py'), '--emit-single-file', '--from-host', '/usr/bin/python3::trace=/usr/bin/python3 -c "import json"']);
    ({ path: single } = result.singleFile as { path: string });
    bundle = result.dir;
    copy = path.join(cache, (result.singleFile as { digest: string }).digest);
  });

  const py = (code: string, flags: string[] = []) => runOnHost([single, ...flags, '-c', code], { env: { SIDEBUNDLE_CACHE_DIR: cache } });

  test('extracted files keep the bundle\'s mtimes (the fixed bundle epoch, not the extraction time)', () => {
    const r = py('import json, sys; print(json.__file__, sys.flags.dont_write_bytecode)');
    expect(r).toMatchObject({ status: 0, stderr: '' });
    // The path inside the bundle's view (ns: /usr/lib/..., host: under the copy).
    const [file, dontWrite] = r.stdout.trim().split(' ');
    expect(dontWrite).toBe('0');
    const relative = `payload${file!.slice(file!.indexOf('/usr/lib/python3'))}`;
    const extracted = statSync(path.join(copy, relative), { bigint: true }).mtimeNs;
    expect(extracted).toBe(statSync(path.join(bundle, relative), { bigint: true }).mtimeNs);
    // Every bundle file has one fixed time (SOURCE_DATE_EPOCH, else 2000-01-01).
    expect(Number(extracted / 1_000_000n)).toBe(process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.UTC(2000, 0, 1));
    // Not the extraction time: the source is older than this test.
    expect(Number(extracted / 1_000_000n)).toBeLessThan(Date.now() - 3_600_000);
    // Every regular file, directory and link has the bundle's time.
    const all = /./;
    expect(snapshot(copy, all)).toEqual({ ...snapshot(bundle, all), '.sidebundle-extracted': expect.any(String) });
  });

  test('a warm single-file Python finds its __pycache__ valid: every .pyc matches, none is stale or rewritten', () => {
    const pyc = /__pycache__\/.*\.pyc$/;
    const shipped = snapshot(bundle, pyc);
    // The precondition: the bundle carries json's compiled module.
    expect(Object.keys(shipped).filter((p) => /^payload\/.*\/json\/__pycache__\/__init__\.cpython-\d+\.pyc$/.test(p))).toHaveLength(1);
    for (let i = 0; i < 2; i++) {
      // -v names each cached module it uses ("matches") or passes over ("bytecode is stale").
      const r = py('import json; print(json.dumps([1]))', ['-v']);
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: '[1]\n' });
      expect(r.stderr).toMatch(/# \S*\/json\/__pycache__\/__init__\.cpython-\d+\.pyc matches \S*\/json\/__init__\.py\n/);
      expect(r.stderr.split('\n').filter((line) => line.includes('bytecode is stale'))).toEqual([]);
      expect(snapshot(copy, pyc)).toEqual(shipped);
    }
  });
});

/** A format-4 single file of `records` as given (one member per `slice` bytes), the way
 * lib/package/single-file.ts lays it out: for streams the writer would never make. */
function craft(records: Buffer, target: string, slice = 1 << 20, alter: (member: Buffer, i: number) => Buffer = (m) => m): void {
  const members: Buffer[] = [];
  const index: number[] = [];
  for (let at = 0; at < records.length; at += slice) {
    const part = records.subarray(at, at + slice);
    members.push(alter(deflateRawSync(part), members.length));
    index.push(members.at(-1)!.length, part.length);
  }
  const stub = readFileSync(runner);
  const table = Buffer.alloc(index.length * 4);
  index.forEach((n, i) => table.writeUInt32LE(n, i * 4));
  // Runner offset 0: the file starts with the runner (no launcher ahead of it).
  const trailer = Buffer.alloc(72);
  trailer.write('SIDEBUNDLE-SFX-4', 8, 'latin1');
  const membersEnd = stub.length + members.reduce((n, m) => n + m.length, 0);
  trailer.writeBigUInt64LE(BigInt(stub.length), 24);
  trailer.writeBigUInt64LE(BigInt(membersEnd), 32);
  createHash('sha256').update(stub).update(records).digest().copy(trailer, 40);
  writeFileSync(target, Buffer.concat([stub, ...members, table, trailer]), { mode: 0o755 });
}

function record(kind: string, relPath: string, rest: Buffer): Buffer {
  const name = Buffer.from(relPath);
  const head = Buffer.alloc(21);
  head.write(kind, 0, 'latin1');
  head.writeUInt32LE(kind === 'd' ? 0o755 : 0o644, 1);
  head.writeUInt32LE(name.length, 17);
  return Buffer.concat([head, name, rest]);
}
const named = (s: string) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(Buffer.byteLength(s));
  return Buffer.concat([b, Buffer.from(s)]);
};

describe('damaged and foreign single files', () => {
  let printer: string;
  beforeAll(() => {
    printer = createBundle(['--name', 'printer', '--out-dir', path.join(dir, 'printer'), '--from-host', argvPrinter(dir)]).dir;
  });

  function runIn(file: string) {
    const cache = path.join(dir, `cache-${path.basename(file)}`);
    mkdirSync(cache, { mode: 0o700 });
    return { ...runOnHost([file, 'x'], { env: { SIDEBUNDLE_CACHE_DIR: cache } }), cache: readdirSync(cache) };
  }

  test('a change inside stored (incompressible) content inflates fine and is refused by the digest; nothing is kept', async () => {
    const tree = path.join(dir, 'random-tree');
    cpSync(printer, tree, { recursive: true });
    const blob = randomFillSync(Buffer.alloc(3 << 20));
    writeFileSync(path.join(tree, 'payload/blob'), blob);
    const file = path.join(dir, 'stored.run');
    await writeSingleFile(tree, runner, file);
    const good = runIn(file);
    expect({ status: good.status, stdout: good.stdout.split('\n')[0] }).toEqual({ status: 0, stdout: '[x]' });
    const bytes = readFileSync(file);
    const at = bytes.indexOf(blob.subarray(2 << 20, (2 << 20) + 64));
    expect(at).toBeGreaterThan(0);
    bytes[at + 10] ^= 0x01;
    const damaged = path.join(dir, 'stored-damaged.run');
    writeFileSync(damaged, bytes, { mode: 0o755 });
    expect(runIn(damaged)).toEqual({ status: 126, signal: null, stdout: '', stderr: expect.stringMatching(/stored-damaged\.run is damaged \(its contents do not match the digest it carries\); rebuild or download it again/), cache: [] });
  });

  test('a crafted stream that plants a symlink and writes through it is refused, and nothing lands outside', () => {
    const outside = path.join(dir, 'outside');
    mkdirSync(outside);
    const content = Buffer.from('pwned\n');
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(content.length));
    const records = Buffer.concat([
      record('l', 'esc', named(outside)),
      record('f', 'esc/pwned', Buffer.concat([size, content])),
    ]);
    const file = path.join(dir, 'crafted.run');
    craft(records, file);
    const r = runIn(file);
    expect({ status: r.status, cache: r.cache }).toEqual({ status: 126, cache: [] });
    expect(r.stderr).toMatch(/crafted\.run is damaged \(esc\/pwned comes before its directory in the bundle\)/);
    expect(readdirSync(outside)).toEqual([]);
    const dotdot = path.join(dir, 'dotdot.run');
    craft(record('f', '../escaped', Buffer.concat([size, content])), dotdot);
    expect(runIn(dotdot).stderr).toMatch(/is damaged \(unsafe path "\.\.\/escaped" in the bundle\)/);
    expect(existsSync(path.join(dir, 'escaped'))).toBe(false);
  });

  /** Records of one directory and one file of `content`, and the file's record path. */
  const oneFile = (content: Buffer) => {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(content.length));
    return Buffer.concat([record('d', 'bin', Buffer.alloc(0)), record('f', 'bin/data', Buffer.concat([size, content]))]);
  };
  /** 6 MiB of mixed text and noise, compressible but not trivially. */
  const mixed = () => {
    const content = Buffer.alloc(6 << 20);
    for (let at = 0; at < content.length; at += 4096) {
      if ((at >> 12) % 3 === 0) randomFillSync(content, at, 4096);
      else content.write(`line ${at} of the stream, with words that repeat and repeat\n`.repeat(80).slice(0, 4096), at, 'latin1');
    }
    return content;
  };

  test('many members inflated on several threads give the file byte for byte', () => {
    const content = mixed();
    const file = path.join(dir, 'many.run');
    // 64 KiB members: about a hundred, so every worker inflates many, out of order.
    craft(oneFile(content), file, 64 << 10);
    const r = runIn(file);
    // No bin/ entry to run: the extraction is kept (digest matched) and the run then fails.
    expect(r.stderr).toMatch(/cannot run \S*\/bin\/data/);
    expect(r.cache).toHaveLength(1);
    const extracted = readFileSync(path.join(dir, `cache-${path.basename(file)}`, r.cache[0]!, 'bin/data'));
    expect(extracted.length).toBe(content.length);
    expect(extracted.equals(content)).toBe(true);
  });

  test('a member that cannot be inflated, far into the stream, is refused cleanly: nothing kept, no hang', () => {
    const file = path.join(dir, 'bad-member.run');
    // Member 57's first block claims the reserved block type 3 (BFINAL=1, BTYPE=11).
    craft(oneFile(mixed()), file, 64 << 10, (member, i) => (i === 57 ? Buffer.concat([Buffer.from([0x07]), member.subarray(1)]) : member));
    const r = runIn(file);
    expect(r).toEqual({ status: 126, signal: null, stdout: '', stderr: expect.stringMatching(/bad-member\.run is damaged \(member 57: invalid block type\); rebuild or download it again/), cache: [] });
  });

  test('an index that promises more than a member holds is refused', () => {
    const file = path.join(dir, 'index.run');
    craft(record('d', 'a', Buffer.alloc(0)), file);
    const bytes = readFileSync(file);
    // The last index entry's uncompressed length, just before the trailer.
    bytes.writeUInt32LE(bytes.readUInt32LE(bytes.length - 76) + 1, bytes.length - 76);
    writeFileSync(file, bytes);
    expect(runIn(file)).toMatchObject({ status: 126, stderr: expect.stringMatching(/is damaged \(member 0 holds \d+ bytes, the index says \d+\)/), cache: [] });
  });

  test('a single file of format 1 is named and asks for a rebuild', () => {
    const file = path.join(dir, 'v1.run');
    craft(record('d', 'a', Buffer.alloc(0)), file);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('SIDEBUNDLE-SFX-1'), 0, 16, statSync(file).size - 64);
    closeSync(fd);
    expect(runIn(file)).toMatchObject({ status: 126, stderr: expect.stringMatching(/v1\.run is a single-file bundle of another format \(SIDEBUNDLE-SFX-1\) than this runner reads \(SIDEBUNDLE-SFX-4\); rebuild it/), cache: [] });
  });
});

/** Peak RSS in KiB of a command run under /usr/bin/time -v, with its status and stderr. */
function peakRss(argv: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; kib: number; stderr: string } {
  const r = spawnSync('/usr/bin/time', ['-v', ...argv], { encoding: 'utf8', env, maxBuffer: 16 << 20 });
  const kib = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  expect(kib).toBeGreaterThan(0);
  return { status: r.status, kib, stderr: r.stderr };
}

const hasTime = existsSync('/usr/bin/time') ? describe : describe.skip;

hasTime('memory: ~1 GiB of incompressible data', () => {
  const mib = Number(process.env.SIDEBUNDLE_SFX_MEMORY_MIB ?? 1024);
  const LIMIT_KIB = 100 * 1024;

  test(`written and extracted within ${LIMIT_KIB / 1024} MiB of RSS on each side (${mib} MiB)`, () => {
    const tree = path.join(dir, 'big-tree');
    cpSync(createBundle(['--name', 'big', '--out-dir', path.join(dir, 'big'), '--from-host', argvPrinter(dir)]).dir, tree, { recursive: true });
    mkdirSync(path.join(tree, 'payload/big'));
    const piece = Buffer.alloc(8 << 20);
    const sums: string[] = [];
    for (let f = 0, left = mib << 20; left > 0; f++) {
      const fd = openSync(path.join(tree, `payload/big/r${f}`), 'w');
      const hash = createHash('sha256');
      for (let i = 0; i < 8 && left > 0; i++, left -= piece.length) {
        randomFillSync(piece);
        writeSync(fd, piece);
        hash.update(piece);
      }
      closeSync(fd);
      sums.push(hash.digest('hex'));
    }
    const file = path.join(dir, 'big.run');
    const writer = `require(${JSON.stringify(path.join(repoRoot, 'dist/lib/package/single-file.js'))}).writeSingleFile(process.argv[1], process.argv[2], process.argv[3]).catch((e) => { console.error(e); process.exit(1); })`;
    const write = peakRss([process.execPath, '-e', writer, tree, runner, file]);
    expect({ status: write.status, withinLimit: write.kib <= LIMIT_KIB, kib: write.kib }).toEqual({ status: 0, withinLimit: true, kib: write.kib });
    expect(statSync(file).size).toBeGreaterThan(mib << 20);

    const cache = path.join(dir, 'big-cache');
    const run = peakRss([file, 'ok'], { PATH: '/usr/bin:/bin', SIDEBUNDLE_CACHE_DIR: cache });
    expect({ status: run.status, withinLimit: run.kib <= LIMIT_KIB, kib: run.kib }).toEqual({ status: 0, withinLimit: true, kib: run.kib });
    const [digest] = readdirSync(cache);
    const copy = path.join(cache, digest!, 'payload/big');
    const extracted = readdirSync(copy).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    expect(extracted.map((name) => createHash('sha256').update(readFileSync(path.join(copy, name))).digest('hex'))).toEqual(sums);
  });
});
