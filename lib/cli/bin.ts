#!/usr/bin/env node
// The `sidebundle` command as shipped (package.json's bin). It runs the command's bundle,
// main.<command>.bundle.js (main.js and everything that command requires in one file, made by
// scripts/bundle-cli.js at build time), with V8's code cache kept between runs: a command's
// start-up is then one file read and almost no compiling, where it was ~100 modules each found,
// read and compiled. bench/results/startup.md has the figures. Node 22.1+ has
// module.enableCompileCache; Node 20 has nothing of the kind, so this file keeps the cache
// itself, one way for every Node.
//
// The cache holds compiled code and is trusted like code: read only from a directory this user
// owns and no one else can write, from a regular file likewise. Its name carries the bundle's
// sha256 (which the build writes into the bundle's second line), size and mtime, the Node
// version and a digest of Node's and V8's options, so another build, Node or set of flags never
// meets it. It is written through a synced file renamed into place, so it is never seen
// half-written. V8 does not check the data it deserializes, and damaged data crashes Node, while
// reading it or later, when a function from it first runs: a digest checked here would cost 3-4
// ms of the ~15 the cache saves (loading node:crypto alone), so a run that uses a cache marks it
// (a file named with its pid, removed when the process exits), and the next run that finds the
// mark of a process no longer there drops that cache. Each command has its own cache, written
// after its first successful run that is not --help (it holds the functions the run compiled); the
// newest few of each command are kept, so two installs used in turn do not rewrite each other's.
// Failing to read or write a cache costs the speed-up, never an error. SIDEBUNDLE_DEBUG=code-cache
// says on stderr what became of it.
//
// This file requires none of sidebundle's modules but the hand-over of NODE_EXTRA_CA_CERTS
// (util/extra-ca-certs.ts), the version and its output (--version is answered here), the bundles'
// names (command-bundle.ts), the cache-directory formula and the liveness check (where a crash
// mark is found), and the build bundles those into it: each module would be one more found, read
// and compiled on every start.
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

import { restoreExtraCaCerts } from '../util/extra-ca-certs';
import { version } from '../version';
import { COMMAND_NAME, commandBundle } from './command-bundle';
import { writeToFd } from './write-fd';

/** The line scripts/bundle-cli.js puts after the shebang: the sha256 of the rest of the bundle. */
const DIGEST_LINE = /^\/\/ sha256 ([0-9a-f]{64})$/m;
/** Caches kept per command (this build's and the last few others'). */
const KEEP = 4;
const debug = (process.env.SIDEBUNDLE_DEBUG ?? '').split(',').includes('code-cache');

interface Cli {
  run(argv: string[]): void;
}

function say(message: string): void {
  if (!debug) return;
  try {
    fs.writeSync(2, `sidebundle: code cache: ${message}\n`);
  } catch {
    // a closed stderr
  }
}

/** FNV-1a of a short string, as 8 hex digits (node:crypto would cost 3-4 ms to load). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** The directory of the code caches, made if absent; undefined unless only this user can write it. */
function cacheDir(): string | undefined {
  try {
    const { userCacheDir } = require('../util/cache-dir') as typeof import('../util/cache-dir');
    const dir = path.join(userCacheDir(), 'code-cache');
    let st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (st === undefined) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = fs.lstatSync(dir);
    }
    if (st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0) return dir;
    say(`${dir} is not a directory of this user's that only it can write: not used`);
  } catch (error) {
    say(`no cache directory (${(error as Error).message})`);
  }
  return undefined;
}

/** The cached code in `file`, if it is a regular file of this user's that only it can write. */
function readCache(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    say(`${file}: none yet`);
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) {
      say(`${file}: not a file of this user's that only it can write: not used`);
      return undefined;
    }
    return fs.readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Marks of runs loading a cache: `<cache>.loading.<pid>`. A mark whose process is gone means
 * V8 died on that cache (or the run was killed right then): the cache and the mark are removed. */
function dropCrashed(dir: string, name: string): void {
  const prefix = `${name}.loading.`;
  for (const entry of fs.readdirSync(dir)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    // Required only here, where a mark is found: not one more module on every start.
    const { processRunning } = require('../util/process-running') as typeof import('../util/process-running');
    if (Number.isInteger(pid) && pid > 0 && processRunning(pid)) continue;
    say(`${name}: a run (pid ${pid}) ended while loading it: removed`);
    fs.rmSync(path.join(dir, name), { force: true });
    fs.rmSync(path.join(dir, entry), { force: true });
  }
}

/** Write the cache after a successful run (synced, then renamed over the old one) and remove this command's caches but the newest few, and leftovers of killed writes. */
function writeCache(dir: string, name: string, command: string, script: vm.Script): void {
  if (process.exitCode !== undefined && process.exitCode !== 0) return;
  const file = path.join(dir, name);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    const fd = fs.openSync(temporary, 'wx', 0o600);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
    say(`${file}: written`);
    prune(dir, `cli-${command}-`);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    say(`${file}: not written (${(error as Error).message})`);
  }
}

function prune(dir: string, stem: string): void {
  const hourAgo = Date.now() - 3_600_000;
  const caches: Array<{ file: string; mtime: number }> = [];
  const entries = fs.readdirSync(dir);
  for (const entry of entries) {
    const file = path.join(dir, entry);
    const mark = entry.indexOf('.loading.');
    if (mark > 0) {
      // A mark outlives its cache only when the cache went (pruned, replaced by another build).
      if (!entries.includes(entry.slice(0, mark))) fs.rmSync(file, { force: true });
      continue;
    }
    let mtime;
    try {
      mtime = fs.lstatSync(file).mtimeMs;
    } catch {
      continue; // renamed or removed by another run since the listing
    }
    if (entry.endsWith('.tmp')) {
      if (mtime < hourAgo) fs.rmSync(file, { force: true });
    } else if (entry.startsWith(stem)) {
      caches.push({ file, mtime });
    }
  }
  caches.sort((a, b) => b.mtime - a.mtime);
  for (const { file } of caches.slice(KEEP)) fs.rmSync(file, { force: true });
}

/** Compile and run the bundle, with the cache when there is one; its exports. */
function load({ command, file, bytes, stats }: Bundle, argv: string[]): Cli {
  // ASCII (as scripts/bundle-cli.js makes it) is copied into a one-byte string; UTF-8 would be
  // decoded into a two-byte string, twice the memory and slower to read and compile.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const digest = DIGEST_LINE.exec(source.slice(0, 200))?.[1];
  const options = fnv1a(`${process.execArgv.join('\0')}\0${process.env.NODE_OPTIONS ?? ''}`);
  const name = `cli-${command}-node${process.version}-${process.arch}-${digest?.slice(0, 20)}-${stats.size}-${Math.trunc(stats.mtimeMs)}-${options}.v8`;
  const dir = digest === undefined ? undefined : cacheDir();
  if (digest === undefined) say(`${file} has no sha256 line: no cache`);
  let cachedData: Buffer | undefined;
  let mark: string | undefined;
  if (dir !== undefined) {
    try {
      dropCrashed(dir, name);
      cachedData = readCache(path.join(dir, name));
      if (cachedData !== undefined) fs.closeSync(fs.openSync((mark = path.join(dir, `${name}.loading.${process.pid}`)), 'w', 0o600));
    } catch {
      cachedData = undefined; // no mark, no cache
    }
  }
  if (mark !== undefined) {
    const done = mark;
    process.once('exit', () => fs.rmSync(done, { force: true }));
  }
  // The shebang line made a comment: the same length, so the same lines and columns in stacks.
  const body = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${body}\n})`, { filename: file, cachedData });
  if (cachedData !== undefined) say(`${name}: ${script.cachedDataRejected ? 'rejected by V8' : 'used'}`);
  // A --help run compiles a few functions only: a cache made from it would hold little.
  const help = argv.includes('--help') || argv.includes('-h');
  if (dir !== undefined && !help && (cachedData === undefined || script.cachedDataRejected)) process.once('exit', () => writeCache(dir, name, command, script));
  const bundle = { exports: {} as Cli, filename: file, id: file, loaded: true };
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  // node:module is not among the modules Node's start-up loaded: required where it is used.
  const { createRequire } = require('node:module') as typeof import('node:module');
  run.call(bundle.exports, bundle.exports, createRequire(file), bundle, file, __dirname);
  return bundle.exports;
}

interface Bundle {
  /** The command it runs (create, resolve, ...), which names its code cache too. */
  command: string;
  file: string;
  bytes: Buffer;
  stats: fs.Stats;
}

/** The command's bundle, unless the modules are the better choice: no command (--help, a
 * mistyped name), no bundle (a build by tsc alone), or a bundle older than main.js (tsc wrote the
 * modules since). */
function bundleFor(argv: string[]): Bundle | undefined {
  const command = argv[0];
  // Anything but a command's name (--help, help, a mistyped command) runs main.js, which loads
  // five small modules to answer.
  if (command === undefined || !COMMAND_NAME.test(command)) return undefined;
  const file = path.join(__dirname, commandBundle(command));
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const stats = fs.fstatSync(fd);
    if (stats.mtimeMs < fs.statSync(path.join(__dirname, 'main.js')).mtimeMs) {
      say(`${file} is older than main.js: the modules are run`);
      return undefined;
    }
    return { command, file, bytes: fs.readFileSync(fd), stats };
  } finally {
    fs.closeSync(fd);
  }
}

restoreExtraCaCerts();
const argv = process.argv.slice(2);
// --version is one read of package.json, answered here (main.js answers it the same way for
// those who run it): main.js and its modules would cost more than the answer.
// Should that fail, main.js answers, and reports the error as every command does.
if (!((argv[0] === '--version' || argv[0] === '-V') && answerVersion())) {
  const bundle = bundleFor(argv);
  (bundle === undefined ? (require('./main') as Cli) : load(bundle, argv)).run(argv);
}

function answerVersion(): boolean {
  try {
    writeToFd(1, `${version()}\n`);
    return true;
  } catch {
    return false;
  }
}
