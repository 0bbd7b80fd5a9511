// Start-up: a command loads only its own code. `--version` and `resolve` must not load the
// create pipeline (images, packaging, the native tracer) nor any third-party package (tar-stream,
// execa, ffi-rs, @nx/devkit), nor Node's stream and net modules (their answer is written with
// writeSync). Checked on the modules tsc built (main.js), through what require() loaded and Node's
// own list of loaded built-ins, not by time (bench/startup.ts times it). The shipped command,
// bin.js, runs those modules bundled into one file, where each module's top-level code still runs
// on its first require() only; then its code cache.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { cliPath, mainPath, repoRoot, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-startup-');

// Preloaded with --require: on exit, writes every file require() loaded (require.cache) and
// Node's list of the built-in modules it loaded (process.moduleLoadList) to a file.
const recorder = path.join(dir, 'record-loaded.js');
writeFileSync(recorder, `process.on('exit', () => require('node:fs').writeFileSync(process.env.SB_LOADED_OUT, JSON.stringify({ files: Object.keys(require.cache), builtins: process.moduleLoadList })));\n`);

let run = 0;
/** Run the CLI; the files it loaded, relative to the repository (dist/...) or to node_modules,
 * and the built-in modules (`stream`, `internal/fs/utils`, ...). Its output goes to a pipe. */
function loadedBy(args: string[], env: NodeJS.ProcessEnv = {}, cli = mainPath): { status: number | null; stdout: string; stderr: string; loaded: string[]; builtins: string[] } {
  const out = path.join(dir, `loaded-${run++}.json`);
  const result = runCli(args, { cli, env: { ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${recorder}`, SB_LOADED_OUT: out } });
  const { files, builtins } = JSON.parse(readFileSync(out, 'utf8')) as { files: string[]; builtins: string[] };
  const loaded = files.filter((f) => f !== recorder).map((f) => (f.includes('/node_modules/') ? `node_modules/${f.split('/node_modules/').pop()}` : path.relative(repoRoot, f)));
  return { ...result, loaded, builtins: builtins.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)) };
}

/** Node's stream and net modules: what the first use of process.stdout or process.stderr loads. */
const streams = (builtins: string[]) => builtins.filter((m) => m === 'stream' || m === 'net' || m === 'tty');

const thirdParty = (loaded: string[]) => loaded.filter((f) => f.startsWith('node_modules/'));
/** The create pipeline's own code: image sources (the reference parser is a pure string function
 * entry specs share), packaging, the steps, the tracer. */
const pipeline = (loaded: string[]) =>
  loaded.filter((f) => /^dist\/lib\/(image\/(?!reference\.js$)|package\/|steps\/|merge\/|validate\/|bundle\.js$|trace\/(native|tracer)\.js$)/.test(f));

describe('each command loads only its own code', () => {
  test('the recorder sees the create graph (so the checks below can fail)', () => {
    // An image entry loads the image code (an absent layout fails after loading it).
    const r = loadedBy(['create', '--name', 'x', '--from-image', `oci:${path.join(dir, 'no-such-layout')}:latest::/usr/bin/true`, '--out-dir', path.join(dir, 'out-image'), '--no-cache']);
    expect(r.status).not.toBe(0);
    expect(r.loaded).toContain('dist/lib/cli/create.js');
    expect(pipeline(r.loaded)).toEqual(expect.arrayContaining(['dist/lib/image/materialize.js', 'dist/lib/package/pack.js']));
    expect(thirdParty(r.loaded)).toEqual(expect.arrayContaining([expect.stringMatching(/^node_modules\/tar-stream\//)]));
    // It wrote its error to stderr, a pipe here: the check on streams below can fail too.
    expect(r.stderr).toMatch(/error\[/);
    expect(streams(r.builtins)).toEqual(expect.arrayContaining(['stream', 'net']));
  });

  test('create of host programs loads no image code (registry client, tar-stream): its start-up is most of a small bundle', () => {
    const r = loadedBy(['create', '--name', 'x', '--from-host', '/usr/bin/true', '--out-dir', path.join(dir, 'out-host'), '--no-cache']);
    expect(r.status).toBe(0);
    expect(r.loaded).toContain('dist/lib/package/pack.js');
    expect(r.loaded.filter((f) => /^dist\/lib\/(image\/(?!reference\.js$)|ship\/(?!wants\.js$))/.test(f))).toEqual([]);
    expect(thirdParty(r.loaded).filter((f) => f.startsWith('node_modules/tar-stream/'))).toEqual([]);
  });

  test('--version loads the entry, the version, the error and reporter modules and the log levels, nothing else', () => {
    const r = loadedBy(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect([...r.loaded].sort()).toEqual(['dist/lib/cli/main.js', 'dist/lib/cli/reporter.js', 'dist/lib/errors.js', 'dist/lib/model/options.js', 'dist/lib/version.js']);
    expect(streams(r.builtins)).toEqual([]);
  });

  test('--help loads no command module', () => {
    const r = loadedBy(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/resolve +show what programs load/);
    expect(r.loaded.filter((f) => f.startsWith('dist/lib/cli/'))).toEqual(['dist/lib/cli/main.js', 'dist/lib/cli/reporter.js']);
  });

  test('resolve loads no third-party package and none of the pipeline, nor the digest code in text mode', () => {
    const r = loadedBy(['resolve', '--from-host', '/usr/bin/jq']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/libc\.so\.6 => \S+libc\.so\.6/);
    expect(r.loaded).toContain('dist/lib/resolve/closure.js');
    expect(thirdParty(r.loaded)).toEqual([]);
    expect(pipeline(r.loaded)).toEqual([]);
    expect(r.loaded).not.toContain('dist/lib/cache/file-digest.js');
    expect(r.loaded).not.toContain('dist/lib/cli/create.js');
    expect(r.loaded).not.toContain('dist/lib/version.js'); // --version's alone
    // Only what an ELF program's closure needs: not the copy-dir code (with the secret and
    // exclusion rules), traced files, the shell-script scanner, nor the parsers of image
    // references and trace= commands.
    expect(r.loaded.filter((f) => /^dist\/lib\/(policy\/|util\/(redact|shell-words)|image\/|resolve\/(copy-dir|traced-files|script-scan)\.js$)/.test(f))).toEqual([]);
    expect(streams(r.builtins)).toEqual([]);
  });

  test('resolve of a shell script still finds the commands it calls (the scanner, loaded on demand)', () => {
    const script = path.join(dir, 'calls-jq.sh');
    writeFileSync(script, '#!/bin/sh\njq --version\n', { mode: 0o755 });
    const r = loadedBy(['resolve', '--from-host', script]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^jq \(elf-dynamic\) \/usr\/bin\/jq$/m);
    expect(r.loaded).toContain('dist/lib/resolve/script-scan.js');
  });

  test('resolve into a pipe whose reader has gone ends quietly (status 0, nothing on stderr)', () => {
    // `resolve | true`: true exits long before node has started, so the write fails with EPIPE,
    // which ends the output, not the command (process.stdout threw it as an unhandled error).
    const r = spawnSync('/bin/bash', ['-c', '"$0" "$1" resolve --from-host /usr/bin/jq | true; echo "status ${PIPESTATUS[0]}"', process.execPath, cliPath], { encoding: 'utf8' });
    expect(r.stdout).toBe('status 0\n');
    expect(r.stderr).toBe('');
  });

  test('resolve --json (with digests) still loads no third-party package and none of the pipeline', () => {
    const r = loadedBy(['resolve', '--from-host', '/usr/bin/jq', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).files.every((f: { sha256?: string }) => /^[0-9a-f]{64}$/.test(f.sha256 ?? ''))).toBe(true);
    expect(r.loaded).toContain('dist/lib/cache/file-digest.js');
    expect(thirdParty(r.loaded)).toEqual([]);
    expect(pipeline(r.loaded)).toEqual([]);
  });
});

describe('the shipped command (bin.js): the bundle, with its code cache', () => {
  /** A run of the command with its own cache directory, saying what became of the code cache. */
  const cached = (home: string, args: string[], cli = cliPath) => {
    const r = runCli(args, { cli, env: { XDG_CACHE_HOME: home, SIDEBUNDLE_DEBUG: 'code-cache' } });
    return { ...r, said: r.stderr.split('\n').filter((l) => l.startsWith('sidebundle: code cache: ')).map((l) => l.replace(/^sidebundle: code cache: (\S+: )?/, '')) };
  };
  const cacheFiles = (home: string) => readdirSync(path.join(home, 'sidebundle', 'code-cache')).sort();

  test('--version and resolve load two files of ours (bin.js and the cache-directory formula), no third-party package, no stream module', () => {
    const version = loadedBy(['--version'], {}, cliPath);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect([...version.loaded].sort()).toEqual(['dist/lib/cli/bin.js', 'dist/lib/util/cache-dir.js']);
    expect(streams(version.builtins)).toEqual([]);
    const resolved = loadedBy(['resolve', '--from-host', '/usr/bin/jq'], {}, cliPath);
    expect(resolved.status).toBe(0);
    expect(resolved.stdout).toMatch(/libc\.so\.6 => \S+libc\.so\.6/);
    expect(thirdParty(resolved.loaded)).toEqual([]);
    expect(streams(resolved.builtins)).toEqual([]);
  });

  test('the bundle is ASCII, which bin.js reads into a one-byte string (scripts/bundle-cli.js warns of other characters)', () => {
    const text = readFileSync(path.join(repoRoot, 'dist/lib/cli/main.bundle.js'), 'utf8');
    const wide = text.split('\n').flatMap((line, i) => (/[^\x00-\x7f]/.test(line) ? [`${i + 1}: ${line.trim()}`] : []));
    expect(wide).toEqual([]);
  });

  test('each command writes its cache after its first successful run and uses it after; a failed run writes none', () => {
    const home = path.join(dir, 'xdg-cache');
    const jq = ['resolve', '--from-host', '/usr/bin/jq'];
    const first = cached(home, jq);
    expect([first.status, first.said]).toEqual([0, ['none yet', 'written']]);
    const second = cached(home, jq);
    expect([second.status, second.said, second.stdout]).toEqual([0, ['used'], first.stdout]);
    expect(cacheFiles(home)).toEqual([expect.stringMatching(/^cli-resolve-node.*\.v8$/)]);
    // Bad input (exit 2) leaves no cache for its command.
    const bad = cached(home, ['diff']);
    expect(bad.status).toBe(2);
    expect(bad.said).toEqual(['none yet']);
    expect(cacheFiles(home)).toHaveLength(1);
    expect(cached(home, ['--version']).said).toEqual(['none yet', 'written']);
    expect(cacheFiles(home)).toEqual([expect.stringMatching(/^cli-other-/), expect.stringMatching(/^cli-resolve-/)]);
  });

  test('a damaged cache is refused by V8: the command runs as without one and writes a good one', () => {
    const home = path.join(dir, 'xdg-damaged');
    const jq = ['resolve', '--from-host', '/usr/bin/jq'];
    const good = cached(home, jq);
    const [file] = cacheFiles(home);
    const full = path.join(home, 'sidebundle', 'code-cache', file!);
    const bytes = readFileSync(full);
    bytes.fill(0x5a, 16, 4096); // past V8's header: its checksum fails
    writeFileSync(full, bytes);
    const damaged = cached(home, jq);
    expect([damaged.status, damaged.stdout, damaged.said]).toEqual([0, good.stdout, ['rejected by V8', 'written']]);
    writeFileSync(full, 'not a code cache at all');
    expect(cached(home, jq).said).toEqual(['rejected by V8', 'written']);
    expect(cached(home, jq).said).toEqual(['used']);
  });

  test('a cache others can write is not used (compiled code is code), nor one in a directory others can write', () => {
    const home = path.join(dir, 'xdg-shared');
    const jq = ['resolve', '--from-host', '/usr/bin/jq'];
    cached(home, jq);
    const cacheDir = path.join(home, 'sidebundle', 'code-cache');
    const full = path.join(cacheDir, cacheFiles(home)[0]!);
    chmodSync(full, 0o666);
    const open = cached(home, jq);
    expect(open.status).toBe(0);
    // ... and replaced by one of this run's.
    expect(open.said).toEqual(["not a file of this user's that only it can write: not used", 'written']);
    expect(statSync(full).mode & 0o777).toBe(0o600);
    rmSync(full);
    chmodSync(cacheDir, 0o777);
    const shared = cached(home, jq);
    expect(shared.status).toBe(0);
    expect(shared.said).toEqual([expect.stringMatching(/ is not a directory of this user's that only it can write: not used$/)]);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  test('a rebuilt bundle gets a new cache and its command\'s old one is removed', () => {
    // A copy of the built package, whose bundle can be rebuilt (touched) without disturbing dist/.
    const pkg = path.join(dir, 'pkg');
    cpSync(path.join(repoRoot, 'dist/lib'), path.join(pkg, 'dist/lib'), { recursive: true });
    cpSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
    const bin = path.join(pkg, 'dist/lib/cli/bin.js');
    const home = path.join(dir, 'xdg-rebuilt');
    expect(cached(home, ['--version'], bin).said).toEqual(['none yet', 'written']);
    const [before] = cacheFiles(home);
    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(pkg, 'dist/lib/cli/main.bundle.js'), later, later);
    expect(cached(home, ['--version'], bin).said).toEqual(['none yet', 'written']);
    const after = cacheFiles(home);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
  });

  test('a cache directory that cannot be made is silent', () => {
    const notADir = path.join(dir, 'a-file');
    writeFileSync(notADir, '');
    const r = runCli(['--version'], { env: { XDG_CACHE_HOME: notADir } });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const resolved = runCli(['resolve', '--from-host', '/usr/bin/jq'], { env: { XDG_CACHE_HOME: notADir } });
    expect(resolved.status).toBe(0);
    expect(resolved.stderr).toBe('');
  });
});
