// Start-up: a command loads only its own code. `--version` and `resolve` must not load the
// create pipeline (images, packaging, the native tracer) nor any third-party package (tar-stream,
// execa, ffi-rs, @nx/devkit), nor Node's stream and net modules (their answer is written with
// writeSync). Checked on the modules tsc built (main.js), through what require() loaded and Node's
// own list of loaded built-ins, not by time (bench/startup.ts times it). The shipped command,
// bin.js, runs those modules bundled into one file per command, where each module's top-level
// code still runs on its first require() only; then its code cache.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

  test('--version loads the entry, the version, the error, reporter and output modules and the log levels, nothing else', () => {
    const r = loadedBy(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // shown.js: six lines without a require, which the reporter shows every message through.
    expect([...r.loaded].sort()).toEqual(['dist/lib/cli/main.js', 'dist/lib/cli/reporter.js', 'dist/lib/cli/shown.js', 'dist/lib/cli/write-fd.js', 'dist/lib/errors.js', 'dist/lib/model/options.js', 'dist/lib/version.js']);
    expect(streams(r.builtins)).toEqual([]);
  });

  test('--help loads no command module', () => {
    const r = loadedBy(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/resolve +show what programs load/);
    expect(r.loaded.filter((f) => f.startsWith('dist/lib/cli/'))).toEqual(['dist/lib/cli/main.js', 'dist/lib/cli/reporter.js', 'dist/lib/cli/shown.js', 'dist/lib/cli/write-fd.js']);
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

// Node 20 has no module.enableCompileCache (22.1+ does): there main.js runs without one.
const nodeCompileCache = typeof (require('node:module') as { enableCompileCache?: unknown }).enableCompileCache === 'function';
(nodeCompileCache ? test : test.skip)(`main.js run as a script (the Nx plugin's inputs) keeps Node's compile cache under XDG_CACHE_HOME/sidebundle (Node ${process.version}: ${nodeCompileCache ? 'has' : 'lacks'} module.enableCompileCache)`, () => {
  const home = path.join(dir, 'xdg-node');
  expect(runCli(['resolve', '--from-host', '/usr/bin/jq'], { cli: mainPath, env: { XDG_CACHE_HOME: home } }).status).toBe(0);
  expect(readdirSync(path.join(home, 'sidebundle', 'node-compile-cache')).length).toBeGreaterThan(0);
});

describe('the shipped command (bin.js): the bundle, with its code cache', () => {
  /** A run of the command with its own cache directory, saying what became of the code cache. */
  const cached = (home: string, args: string[], cli = cliPath) => {
    const r = runCli(args, { cli, env: { XDG_CACHE_HOME: home, SIDEBUNDLE_DEBUG: 'code-cache' } });
    return { ...r, said: r.stderr.split('\n').filter((l) => l.startsWith('sidebundle: code cache: ')).map((l) => l.replace(/^sidebundle: code cache: (\S+: )?/, '')) };
  };
  const cacheDirOf = (home: string) => path.join(home, 'sidebundle', 'code-cache');
  const cacheFiles = (home: string) => readdirSync(cacheDirOf(home)).sort();
  const jq = ['resolve', '--from-host', '/usr/bin/jq'];

  /** A copy of the built package whose bundle a test may change (dist/ stays as built). */
  const copyPackage = (name: string) => {
    const pkg = path.join(dir, name);
    cpSync(path.join(repoRoot, 'dist/lib'), path.join(pkg, 'dist/lib'), { recursive: true, preserveTimestamps: true });
    cpSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
    return { bin: path.join(pkg, 'dist/lib/cli/bin.js'), bundle: path.join(pkg, 'dist/lib/cli/main.resolve.bundle.js'), main: path.join(pkg, 'dist/lib/cli/main.js') };
  };

  test('resolve loads one file of ours (bin.js, which the build bundles with the cache-directory formula) and, from the bundle, no third-party package, zlib, child_process or stream module', () => {
    const resolved = loadedBy(jq, {}, cliPath);
    expect(resolved.status).toBe(0);
    expect(resolved.stdout).toMatch(/libc\.so\.6 => \S+libc\.so\.6/);
    expect([...resolved.loaded].sort()).toEqual(['dist/lib/cli/bin.js']);
    expect(resolved.builtins.filter((m) => ['zlib', 'child_process', 'stream', 'net'].includes(m))).toEqual([]);
  });

  test('--version is answered by bin.js alone, as main.js answers it; --help runs the modules (five small files cost less than the bundle)', () => {
    const version = loadedBy(['--version'], {}, cliPath);
    expect(version.status).toBe(0);
    expect(version.stdout).toBe(`${JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version}\n`);
    expect([...version.loaded]).toEqual(['dist/lib/cli/bin.js']);
    expect(streams(version.builtins)).toEqual([]);
    expect([loadedBy(['-V'], {}, cliPath), loadedBy(['-V'], {}, mainPath)].map((r) => r.stdout)).toEqual([version.stdout, version.stdout]);
    expect(loadedBy(['--help'], {}, cliPath).loaded).toContain('dist/lib/cli/main.js');
  });

  test('another command runs from its own bundle too; a name that is no command runs main.js, which says so', () => {
    const diff = loadedBy(['diff', path.join(dir, 'no-such-a'), path.join(dir, 'no-such-b')], {}, cliPath);
    expect(diff.status).toBe(2);
    expect(diff.stderr).toMatch(/error\[/);
    expect([...diff.loaded]).toEqual(['dist/lib/cli/bin.js']);
    const unknown = loadedBy(['frob'], {}, cliPath);
    expect([unknown.status, unknown.stderr]).toEqual([2, expect.stringMatching(/error\[UNKNOWN_COMMAND\]: unknown command "frob"/)]);
    expect(unknown.loaded).toContain('dist/lib/cli/main.js');
  });

  test('each command has its own bundle, ASCII (bin.js reads it into a one-byte string; scripts/bundle-cli.js warns of other characters), carrying its sha256', () => {
    const { COMMAND_NAMES } = require(mainPath) as typeof import('../../lib/cli/main');
    const cliDir = path.join(repoRoot, 'dist/lib/cli');
    expect(readdirSync(cliDir).filter((f) => f.endsWith('.bundle.js')).sort()).toEqual(COMMAND_NAMES.map((name) => `main.${name}.bundle.js`).sort());
    for (const name of COMMAND_NAMES) {
      const text = readFileSync(path.join(cliDir, `main.${name}.bundle.js`), 'latin1');
      const wide = text.split('\n').flatMap((line, i) => (/[^\x00-\x7f]/.test(line) ? [`${name} ${i + 1}: ${line.trim()}`] : []));
      expect(wide).toEqual([]);
      const [shebang, digestLine] = text.split('\n', 2);
      const rest = text.slice(shebang!.length + 1 + digestLine!.length + 1);
      expect(digestLine).toBe(`// sha256 ${createHash('sha256').update(`${shebang}\n${rest}`.slice(shebang!.length + 1), 'latin1').digest('hex')}`);
    }
    // esbuild names each module it bundles in a comment: resolve's bundle holds none of create's
    // pipeline; create's holds it.
    const modules = (name: string) => readFileSync(path.join(cliDir, `main.${name}.bundle.js`), 'latin1').match(/^\/\/ dist\/lib\/\S+\.js$/gm)!.map((line) => line.slice(3));
    expect(pipeline(modules('resolve'))).toEqual([]);
    expect(modules('resolve')).not.toContain('dist/lib/cli/create.js');
    expect(modules('create')).toEqual(expect.arrayContaining(['dist/lib/cli/create.js', 'dist/lib/package/pack.js']));
  });

  test('each command writes its cache after its first successful run and uses it after; a failed run writes none', () => {
    const home = path.join(dir, 'xdg-cache');
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
    // Nor does a --help run (it compiles a few functions: the cache would hold little).
    expect(cached(home, ['create', '--help']).said).toEqual(['none yet']);
    expect(cacheFiles(home)).toHaveLength(1);
    // Other options for Node or V8 make another cache (V8 would refuse this one).
    const flagged = runCli(jq, { env: { XDG_CACHE_HOME: home, SIDEBUNDLE_DEBUG: 'code-cache', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=900` } });
    expect(flagged.stderr).toMatch(/none yet\n.*written\n/);
    expect(cacheFiles(home)).toHaveLength(2);
    expect(cached(home, jq).said).toEqual(['used']);
  });

  test('a cache V8 dies on is dropped by the next run, which writes a good one; one V8 refuses is replaced at once', () => {
    const home = path.join(dir, 'xdg-damaged');
    const good = cached(home, jq);
    const full = path.join(cacheDirOf(home), cacheFiles(home)[0]!);
    const bytes = readFileSync(full);
    // V8 does not check what it deserializes: damage past its header kills Node (a fatal error).
    const damaged = Buffer.from(bytes);
    damaged.fill(0x5a, 100, 164);
    writeFileSync(full, damaged);
    const crashed = cached(home, jq);
    expect(crashed.status).not.toBe(0);
    expect(readdirSync(cacheDirOf(home)).filter((f) => f.includes('.loading.'))).toHaveLength(1);
    const next = cached(home, jq);
    expect([next.status, next.stdout]).toEqual([0, good.stdout]);
    expect(next.said).toEqual([expect.stringMatching(/^a run \(pid \d+\) ended while loading it: removed$/), 'none yet', 'written']);
    expect(cached(home, jq).said).toEqual(['used']);
    // Data V8 refuses: its header names other flags.
    const refused = Buffer.from(readFileSync(full));
    refused[12] = refused[12]! ^ 0xff;
    writeFileSync(full, refused);
    const run = cached(home, jq);
    expect([run.status, run.stdout, run.said]).toEqual([0, good.stdout, ['rejected by V8', 'written']]);
    expect(cached(home, jq).said).toEqual(['used']);
    expect(readdirSync(cacheDirOf(home)).filter((f) => f.includes('.loading.'))).toEqual([]);
  });

  test('a run that uses a cache marks it until it exits: one killed (or crashed) while running leaves the mark, and the next run drops that cache', async () => {
    const home = path.join(dir, 'xdg-killed');
    const out = path.join(dir, 'killed-out');
    const create = ['create', '--name', 'k', '--from-host', '/usr/bin/jq', '--out-dir', out, '--no-cache'];
    expect(cached(home, create).said).toEqual(['none yet', 'written']);
    const marks = () => readdirSync(cacheDirOf(home)).filter((f) => f.includes('.loading.'));
    expect(marks()).toEqual([]);
    const child = spawn(process.execPath, [cliPath, ...create], { env: { ...process.env, XDG_CACHE_HOME: home, SIDEBUNDLE_DEBUG: 'code-cache' }, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve) => {
      let said = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes(': used')) {
          expect(marks()).toEqual([expect.stringMatching(new RegExp(`\\.loading\\.${child.pid}$`))]);
          child.kill('SIGKILL');
        }
      });
      child.on('exit', () => resolve());
    });
    expect(marks()).toHaveLength(1);
    const next = cached(home, create);
    expect(next.status).toBe(0);
    expect(next.said).toEqual([expect.stringMatching(new RegExp(`^a run \\(pid ${child.pid}\\) ended while loading it: removed$`)), 'none yet', 'written']);
    expect(marks()).toEqual([]);
  });

  test('a cache others can write is not used (compiled code is code), nor one in a directory others can write', () => {
    const home = path.join(dir, 'xdg-shared');
    cached(home, jq);
    const full = path.join(cacheDirOf(home), cacheFiles(home)[0]!);
    chmodSync(full, 0o666);
    const open = cached(home, jq);
    expect(open.status).toBe(0);
    // ... and replaced by one of this run's.
    expect(open.said).toEqual(["not a file of this user's that only it can write: not used", 'written']);
    expect(statSync(full).mode & 0o777).toBe(0o600);
    rmSync(full);
    chmodSync(cacheDirOf(home), 0o777);
    const shared = cached(home, jq);
    expect(shared.status).toBe(0);
    expect(shared.said).toEqual([expect.stringMatching(/ is not a directory of this user's that only it can write: not used$/)]);
    expect(readdirSync(cacheDirOf(home))).toEqual([]);
  });

  test('another build (another sha256) gets its own cache; the newest four of a command are kept', () => {
    const copy = copyPackage('pkg-builds');
    const home = path.join(dir, 'xdg-builds');
    const original = readFileSync(copy.bundle, 'latin1');
    const [shebang] = original.split('\n', 1);
    const body = original.slice(original.indexOf('\n', shebang!.length + 1) + 1);
    for (let build = 0; build < 6; build++) {
      const changed = `${body}// build ${build}\n`;
      writeFileSync(copy.bundle, `${shebang}\n// sha256 ${createHash('sha256').update(changed, 'latin1').digest('hex')}\n${changed}`, 'latin1');
      const run = cached(home, ['resolve', '--from-host', '/usr/bin/true'], copy.bin);
      expect([run.status, run.said]).toEqual([0, ['none yet', 'written']]);
    }
    expect(cacheFiles(home)).toHaveLength(4);
    // The same build again: its cache is among the four.
    expect(cached(home, ['resolve', '--from-host', '/usr/bin/true'], copy.bin).said).toEqual(['used']);
  });

  test('a bundle older than main.js (tsc ran since the bundle was made) is not used: the modules run', () => {
    const copy = copyPackage('pkg-stale');
    const later = new Date(Date.now() + 60_000);
    utimesSync(copy.main, later, later);
    const r = cached(path.join(dir, 'xdg-stale'), jq, copy.bin);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/libc\.so\.6 => /);
    expect(r.said).toEqual([expect.stringMatching(/main\.resolve\.bundle\.js is older than main\.js: the modules are run$/)]);
  });

  test('a cache directory that cannot be made is silent', () => {
    const notADir = path.join(dir, 'a-file');
    writeFileSync(notADir, '');
    const r = runCli(['--version'], { env: { XDG_CACHE_HOME: notADir } });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const resolved = runCli(jq, { env: { XDG_CACHE_HOME: notADir } });
    expect(resolved.status).toBe(0);
    expect(resolved.stderr).toBe('');
  });
});
