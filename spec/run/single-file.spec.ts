// Single-file bundles: one executable for python3 + jq, copied alone into the bare root (no
// libc there), runs both entries (by first argument and by argv[0]); two cold first runs at
// once share one extraction; a damaged cache is extracted again; a damaged file is refused.
// A lone entry gets its arguments exactly, and a host-mode bundle runs from its single file.
// The launcher heads the file: warm runs start from the cache without the runner.
// (Whom the cache trusts: single-file-cache.spec.ts.)
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runInRootAsync, runOnHost, type RunInRootOptions } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { argvPrinter } from '../helpers/programs';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(300_000);

const dir = tempDir('sb-single-');
const PY = "import json, sys; print(json.dumps({'py': sys.version_info[:2] >= (3, 0)}))";
const JQ_INPUT = '{"a":[3,1,2]}';
let single: string;
let shipped: string; // a directory holding only the file (and a symlink to it)
let cache: string;

beforeAll(() => {
  const result = createBundle([
    '--name', 'pyjq', '--out-dir', path.join(dir, 'out'), '--emit-single-file',
    '--from-host', `/usr/bin/python3::trace=/usr/bin/python3 -c "${PY}"`,
    '--from-host', '/usr/bin/jq',
  ]);
  single = (result.singleFile as { path: string }).path;
  shipped = path.join(dir, 'shipped');
  mkdirSync(shipped);
  copyFileSync(single, path.join(shipped, 'pyjq.run'));
  symlinkSync('pyjq.run', path.join(shipped, 'jq'));
  cache = path.join(dir, 'cache');
});

function run(argv: string[], extra: RunInRootOptions = {}) {
  mkdirSync(cache, { recursive: true });
  return runInRoot(bareRootfs(), argv, { binds: { [shipped]: '/tmp/sb' }, rwBinds: { [cache]: '/tmp/cache' }, ...extra, env: { SIDEBUNDLE_CACHE_DIR: '/tmp/cache', ...extra.env } });
}

const nativePy = () => runOnHost(['/usr/bin/python3', '-c', PY]).stdout;
const nativeJq = () => runOnHost(['/usr/bin/jq', '-c', '.a | sort'], { input: JQ_INPUT }).stdout;

function extracted(): string[] {
  return readdirSync(cache).sort();
}

test('it is one executable, smaller than the bundle directory', () => {
  const bundleDir = path.join(dir, 'out/pyjq');
  const bundleBytes = runOnHost(['du', '-sb', '--apparent-size', bundleDir]).stdout.split('\t')[0];
  expect(statSync(single).size).toBeLessThan(Number(bundleBytes));
  expect(statSync(single).mode & 0o111).toBe(0o111);
});

test('in the bare root: both entries, by first argument and by argv[0]', () => {
  rmSync(cache, { recursive: true, force: true });
  const py = run(['/tmp/sb/pyjq.run', 'python3', '-c', PY]);
  expect({ stdout: py.stdout, stderr: py.stderr, status: py.status }).toEqual({ stdout: nativePy(), stderr: '', status: 0 });
  const jq = run(['/tmp/sb/jq', '-c', '.a | sort'], { input: JQ_INPUT });
  expect({ stdout: jq.stdout, status: jq.status }).toEqual({ stdout: nativeJq(), status: 0 });
  expect(extracted()).toHaveLength(1);
  const none = run(['/tmp/sb/pyjq.run']);
  expect(none.status).toBe(126);
  expect(none.stderr).toMatch(/holds jq, python3: name one as the first argument/);
});

test('two first runs at once on a cold cache share one extraction', async () => {
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(cache);
  const options: RunInRootOptions = { binds: { [shipped]: '/tmp/sb' }, rwBinds: { [cache]: '/tmp/cache' }, env: { SIDEBUNDLE_CACHE_DIR: '/tmp/cache' } };
  const [a, b] = await Promise.all([
    runInRootAsync(bareRootfs(), ['/tmp/sb/pyjq.run', 'python3', '-c', PY], options),
    runInRootAsync(bareRootfs(), ['/tmp/sb/pyjq.run', 'python3', '-c', PY], options),
  ]);
  expect([a.stdout, b.stdout]).toEqual([nativePy(), nativePy()]);
  expect([a.status, b.status]).toEqual([0, 0]);
  // One extracted copy, no temporary directories left behind.
  expect(extracted()).toHaveLength(1);
  expect(extracted()[0]).toMatch(/^[0-9a-f]{64}$/);
});

test('a damaged cache is extracted again', () => {
  run(['/tmp/sb/jq', '--version']);
  const [digest] = extracted();
  const copy = path.join(cache, digest!);
  // An interrupted extraction: no completion stamp, files missing.
  rmSync(path.join(copy, '.sidebundle-extracted'));
  rmSync(path.join(copy, 'bin/jq'));
  const again = run(['/tmp/sb/jq', '-c', '.a | sort'], { input: JQ_INPUT });
  expect({ stdout: again.stdout, status: again.status }).toEqual({ stdout: nativeJq(), status: 0 });
  // A changed file under a valid stamp: SIDEBUNDLE_VERIFY=1 checks every file against the manifest.
  const manifest = JSON.parse(readFileSync(path.join(copy, 'manifest.lock'), 'utf8')) as { files: Array<{ path: string }> };
  const libjq = manifest.files.find((f) => f.path.includes('libjq'))!.path;
  truncateSync(path.join(copy, libjq), 100);
  const verified = run(['/tmp/sb/jq', '-c', '.a | sort'], { input: JQ_INPUT, env: { SIDEBUNDLE_VERIFY: '1' } });
  expect({ stdout: verified.stdout, status: verified.status }).toEqual({ stdout: nativeJq(), status: 0 });
  expect(statSync(path.join(cache, digest!, libjq)).size).toBeGreaterThan(100);
  expect(extracted()).toEqual([digest]);
  // What manifest.lock does not list, and the manifest itself, are not trusted either: with
  // SIDEBUNDLE_VERIFY=1 the copy is extracted again from the file and replaces them.
  const spec = path.join(cache, digest!, 'runtime/entries/jq.json');
  const shipped = readFileSync(spec, 'utf8');
  expect(shipped).toContain('"env": {}'); // the precondition of the edit below
  writeFileSync(path.join(cache, digest!, 'payload/etc/ld.so.preload'), '/nonexistent/libplanted.so\n');
  writeFileSync(spec, shipped.replace('"env": {}', '"env": {"JQ_COLORS": "planted"}'));
  writeFileSync(path.join(cache, digest!, 'manifest.lock'), '{}');
  const again2 = run(['/tmp/sb/jq', '-c', '.a | sort'], { input: JQ_INPUT, env: { SIDEBUNDLE_VERIFY: '1' } });
  expect({ stdout: again2.stdout, stderr: again2.stderr, status: again2.status }).toEqual({ stdout: nativeJq(), stderr: '', status: 0 });
  expect(existsSync(path.join(cache, digest!, 'payload/etc/ld.so.preload'))).toBe(false);
  expect(readFileSync(spec, 'utf8')).toBe(shipped);
  expect(extracted()).toEqual([digest]);
});

test('a damaged single file is refused with a clear message, and nothing is installed', () => {
  const bytes = readFileSync(single);
  // Flip bytes in the middle of the compressed payload.
  for (let i = 0; i < 64; i++) bytes[Math.floor(bytes.length * 0.6) + i] ^= 0xff;
  const damaged = path.join(dir, 'damaged');
  mkdirSync(damaged, { recursive: true });
  writeFileSync(path.join(damaged, 'pyjq.run'), bytes, { mode: 0o755 });
  const empty = path.join(dir, 'empty-cache');
  mkdirSync(empty, { recursive: true });
  const r = runInRoot(bareRootfs(), ['/tmp/sb/pyjq.run', 'jq', '--version'], { binds: { [damaged]: '/tmp/sb' }, rwBinds: { [empty]: '/tmp/cache' }, env: { SIDEBUNDLE_CACHE_DIR: '/tmp/cache' } });
  expect(r.status).toBe(126);
  expect(r.stderr).toMatch(/pyjq\.run is damaged \(.*\); rebuild or download it again/);
  expect(readdirSync(empty)).toEqual([]);
});

test('a single file cut short or appended to is named as damaged by its launcher, and nothing runs', () => {
  const bytes = readFileSync(single);
  const damaged = path.join(dir, 'cut');
  mkdirSync(damaged, { recursive: true });
  writeFileSync(path.join(damaged, 'cut.run'), bytes.subarray(0, bytes.length - 4096), { mode: 0o755 });
  writeFileSync(path.join(damaged, 'appended.run'), Buffer.concat([bytes, Buffer.from('x\n')]), { mode: 0o755 });
  const empty = path.join(dir, 'cut-cache');
  mkdirSync(empty, { recursive: true });
  for (const name of ['cut.run', 'appended.run']) {
    const r = runInRoot(bareRootfs(), [`/tmp/sb/${name}`, 'jq', '--version'], { binds: { [damaged]: '/tmp/sb' }, rwBinds: { [empty]: '/tmp/cache' }, env: { SIDEBUNDLE_CACHE_DIR: '/tmp/cache' } });
    expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 126, stderr: expect.stringMatching(new RegExp(`${name.replace('.', '\\.')} is a damaged single-file bundle \\(its trailer is not at its end`)) });
  }
  expect(readdirSync(empty)).toEqual([]);
});

describe('one entry: the argv printer', () => {
  const printerDir = path.join(dir, 'printer');
  const printerCache = path.join(dir, 'printer-cache');

  /** `NAME.run` of an argv-printer bundle in `runMode`, and a symlink named after the entry. */
  function printerSingle(runMode: string): { file: string; link: string; digest: string } {
    const out = path.join(printerDir, runMode);
    const result = createBundle(['--name', 'printer', '--out-dir', out, '--emit-single-file', '--run-mode', runMode, '--from-host', argvPrinter(printerDir)]);
    const { path: file, digest } = result.singleFile as { path: string; digest: string };
    const link = path.join(out, 'argv-printer');
    symlinkSync(file, link);
    return { file, link, digest };
  }

  const runPrinter = (argv: string[], env: Record<string, string> = {}) => runOnHost(argv, { env: { SIDEBUNDLE_CACHE_DIR: printerCache, ...env } });
  const printed = (args: string[], root: string) => `${args.map((a) => `[${a}]\n`).join('')}cwd=/\nSIDEBUNDLE_ROOT=${root}\nLD_LIBRARY_PATH=(unset)\nGREETING=(unset)\n`;

  test('a lone entry gets every argument as given, its own name first too', () => {
    const { file, link, digest } = printerSingle('auto');
    const root = path.join(printerCache, digest);
    const byName = runPrinter([file, 'argv-printer', 'a b', 'c']);
    expect(byName).toEqual({ status: 0, signal: null, stdout: printed(['argv-printer', 'a b', 'c'], root), stderr: '' });
    const byLink = runPrinter([link, 'argv-printer', 'x']);
    expect(byLink).toEqual({ status: 0, signal: null, stdout: printed(['argv-printer', 'x'], root), stderr: '' });
    expect(runPrinter([file]).stdout).toBe(printed([], root));
  });

  test('a host-mode bundle runs from its single file, as its bin/ launcher does', () => {
    const { file, link, digest } = printerSingle('host');
    const root = path.join(printerCache, digest);
    // The host-mode bundle has the launcher, without the runner or a mount point for a new root.
    expect(readdirSync(path.join(printerDir, 'host/printer/runtime')).sort()).toEqual(['entries', 'sidebundle-launch']);
    const direct = runOnHost([path.join(printerDir, 'host/printer/bin/argv-printer'), 'a b', 'c']);
    expect(direct.stdout).toBe(printed(['a b', 'c'], path.join(printerDir, 'host/printer')));
    expect(runPrinter([file, 'a b', 'c'])).toEqual({ status: 0, signal: null, stdout: printed(['a b', 'c'], root), stderr: '' });
    expect(runPrinter([link, 'x'])).toEqual({ status: 0, signal: null, stdout: printed(['x'], root), stderr: '' });
    const failing = runPrinter([file], { EXIT_WITH: '7' });
    expect(failing.status).toBe(7);
  });

});

test('the launcher heads the file: a first run goes through the runner, a warm one starts from the cache alone, in every mode', () => {
  const launcher = readFileSync(path.join(__dirname, '../../native/prebuilt/sidebundle-launch'));
  expect(readFileSync(single).subarray(0, launcher.length).equals(launcher)).toBe(true);
  const timedCache = path.join(dir, 'timed-cache');
  mkdirSync(timedCache, { mode: 0o700 });
  const timed = (argv: string[], env: Record<string, string> = {}) => runOnHost([single, ...argv], { input: JQ_INPUT, env: { SIDEBUNDLE_CACHE_DIR: timedCache, SIDEBUNDLE_DEBUG: 'timing', ...env } });
  const cold = timed(['jq', '-c', '.a | sort']);
  expect({ status: cold.status, stdout: cold.stdout }).toEqual({ status: 0, stdout: nativeJq() });
  expect(cold.stderr).toMatch(/copy the runner into a memfd[\s\S]*extract the single file/);
  for (const mode of ['ns', 'host', 'auto', 'bwrap']) {
    const warm = timed(['jq', '-c', '.a | sort'], { SIDEBUNDLE_RUN_MODE: mode });
    expect({ mode, status: warm.status, stdout: warm.stdout }).toEqual({ mode, status: 0, stdout: nativeJq() });
    // bwrap needs the runner's threads: the launcher finds the copy, then hands over to the runner
    // (which extracts nothing again).
    const path_ = { mode, memfd: /copy the runner into a memfd/.test(warm.stderr), cache: /find its extraction in the cache/.test(warm.stderr), extracted: /extract the single file/.test(warm.stderr) };
    expect(path_).toEqual({ mode, memfd: mode === 'bwrap', cache: true, extracted: false });
  }
  // SIDEBUNDLE_VERIFY=1 is the runner's (every file checked against the manifest); the path the
  // launcher hands it is not left in the program's environment.
  const verified = timed(['python3', '-c', "import os; print(os.environ.get('SIDEBUNDLE_SINGLE_FILE'))"], { SIDEBUNDLE_VERIFY: '1' });
  expect({ status: verified.status, stdout: verified.stdout, memfd: /copy the runner into a memfd/.test(verified.stderr) }).toEqual({ status: 0, stdout: 'None\n', memfd: true });
  // The runner reads the file the launcher checked, through the descriptor handed over, never by
  // its name: here the name points at another file before the runner starts (the single file is
  // run through descriptor 3, inherited from the test). A variable the caller set changes
  // nothing, and the program inherits no descriptor of ours: it sees those python3 sees when run
  // natively the same way (0-3, whatever the test's process lets children inherit, and the one
  // it lists with).
  const swapped = path.join(dir, 'swapped.run');
  copyFileSync(single, swapped);
  const held = openSync(swapped, 'r');
  try {
    const listFds = "import os; print(sorted(os.listdir('/proc/self/fd'), key=int), os.environ.get('SIDEBUNDLE_SINGLE_FILE'))";
    const env = { PATH: '/usr/bin:/bin', SIDEBUNDLE_CACHE_DIR: timedCache, SIDEBUNDLE_VERIFY: '1', SIDEBUNDLE_SINGLE_FILE: '3:/etc/passwd' };
    const native = spawnSync('sh', ['-c', 'exec python3 -c "$1"', 'sh', listFds], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe', held], env });
    expect(native.stdout).toMatch(/^\['0', '1', '2', '3', '4'.*\] 3:\/etc\/passwd\n$/);
    const r = spawnSync('sh', ['-c', 'cp /bin/true "$0.new" && mv "$0.new" "$0" && exec /proc/self/fd/3 "$@"', swapped, 'python3', '-c', listFds], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe', held], env });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: native.stdout.replace('3:/etc/passwd', 'None'), stderr: '' });
  } finally {
    closeSync(held);
  }
  // Any name will do but sidebundle-launch (a bundle's own launcher), even the runner's.
  const renamed = path.join(dir, 'sidebundle-run');
  copyFileSync(single, renamed);
  const byName = runOnHost([renamed, 'jq', '-c', '.a | sort'], { input: JQ_INPUT, env: { SIDEBUNDLE_CACHE_DIR: timedCache, SIDEBUNDLE_VERIFY: '1' } });
  expect({ status: byName.status, stdout: byName.stdout }).toEqual({ status: 0, stdout: nativeJq() });
});
