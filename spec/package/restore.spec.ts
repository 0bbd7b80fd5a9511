// A bundle survives what build caches and archives do to it (Nx's cache, tar without hard links,
// CI artifacts, git checkouts): copied without hard links and with every mtime reset, it keeps
// its size (no duplicate trees) and python3 uses its shipped byte code (hash-based .pyc, nothing
// stale, nothing written). Two builds of the same inputs are byte-identical, mtimes included.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

import { DEFAULT_EPOCH } from '../../lib/package/layout';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-restore-');
const TRACE = "/usr/bin/python3::trace=/usr/bin/python3 -c 'import json'";
const build = (out: string, cache: string, name = 'py') =>
  createBundle(['--name', name, '--out-dir', path.join(dir, out), '--cache-dir', path.join(dir, cache), '--from-host', TRACE]).dir;

/** Every entry under `root`: type, mode, mtime (seconds) and content digest or link target. */
function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string) => {
    const at = path.join(root, rel);
    const st = lstatSync(at);
    const head = `${(st.mode & 0o7777).toString(8)} ${Math.floor(st.mtimeMs / 1000)}`;
    if (st.isSymbolicLink()) out.set(rel, `L ${head} ${readlinkSync(at)}`);
    else if (st.isDirectory()) {
      out.set(rel, `D ${head}`);
      for (const name of readdirSync(at).sort()) visit(rel ? `${rel}/${name}` : name);
    } else out.set(rel, `F ${head} ${createHash('sha256').update(readFileSync(at)).digest('hex')}`);
  };
  visit('');
  return out;
}

const diskBytes = (at: string) => Number(execFileSync('du', ['-sb', at], { encoding: 'utf8' }).split('\t')[0]);

let first: string;
let second: string;
beforeAll(() => {
  first = build('out1', 'cache1');
  second = build('out2', 'cache2'); // another cache: everything copied and compiled again
});

test('two builds of the same inputs give byte-identical trees, every entry at the one fixed mtime', () => {
  const a = tree(first);
  const b = tree(second);
  expect(a.size).toBeGreaterThan(1000); // precondition: a real bundle, the standard library in it
  expect([...b].filter(([p, v]) => a.get(p) !== v)).toEqual([]);
  expect([...a.keys()].filter((p) => !b.has(p))).toEqual([]);
  const mtimes = new Set([...a.values()].map((v) => Number(v.split(' ')[2])));
  expect([...mtimes]).toEqual([DEFAULT_EPOCH]);
});

test('no duplicate trees: only payload, bin, runtime and manifest.lock', () => {
  expect(readdirSync(first).sort()).toEqual(['bin', 'manifest.lock', 'payload', 'runtime']);
});

describe('restored without hard links and with every mtime reset', () => {
  let restored: string;
  beforeAll(() => {
    const archive = path.join(dir, 'py.tar');
    execFileSync('tar', ['-C', path.dirname(first), '--hard-dereference', '-cf', archive, 'py']);
    const to = path.join(dir, 'restored');
    execFileSync('mkdir', [to]);
    execFileSync('tar', ['-C', to, '-xf', archive]);
    restored = path.join(to, 'py');
    execFileSync('find', [restored, '-exec', 'touch', '-h', '-d', '@0', '{}', '+']);
  });

  test('it is the same size within 5%', () => {
    expect(lstatSync(path.join(restored, 'payload/usr/lib/python3.11/json/__init__.py')).mtimeMs).toBe(0); // precondition: reset
    const before = diskBytes(first);
    const after = diskBytes(restored);
    expect(after / before).toBeGreaterThan(0.95);
    expect(after / before).toBeLessThan(1.05);
  });

  test('python3 uses the shipped byte code: nothing stale, nothing compiled from source, nothing written', () => {
    const listing = () => [...tree(restored)].filter(([p]) => p !== '').map(([p, v]) => `${p} ${v}`).join('\n');
    const before = listing();
    const r = spawnSync(path.join(restored, 'bin/python3'), ['-v', '-c', 'import json, ssl, decimal; print("ok")'], { encoding: 'utf8' });
    expect(r.stdout).toBe('ok\n');
    const lines = r.stderr.split('\n');
    // Precondition: -v reports each .pyc it uses ("X.pyc matches X.py").
    expect(lines).toContainEqual(expect.stringMatching(/json\/__pycache__\/__init__\.cpython-3\d+\.pyc matches .*json\/__init__\.py$/));
    expect(lines).toContainEqual(expect.stringMatching(/decimal\.cpython-3\d+\.pyc matches /));
    expect(lines.filter((l) => /bytecode is stale|^# code object from [^']|^# (created|wrote|could not create) /.test(l))).toEqual([]);
    expect(listing()).toBe(before);
  });
});

test('a rebundle compiles nothing already compiled: the .pyc come from the step cache', () => {
  const again = createBundle(['--name', 'py-again', '--out-dir', path.join(dir, 'out3'), '--cache-dir', path.join(dir, 'cache1'), '--from-host', TRACE]);
  const bytecode = again.bytecode as { compiled: number; reused: number };
  expect(bytecode.reused).toBeGreaterThan(500);
  expect(bytecode.compiled).toBe(0);
  // manifest.lock says how many, not where they came from (it must not depend on the cache).
  const manifest = JSON.parse(readFileSync(path.join(again.dir, 'manifest.lock'), 'utf8'));
  expect(manifest.diagnostics.find((d: { code: string }) => d.code === 'BYTECODE_COMPILED').message).toMatch(/^python 3\.\d+: \d+ \.pyc \(unchecked-hash\)$/);
});
