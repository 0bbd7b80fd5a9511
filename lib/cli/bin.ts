#!/usr/bin/env node
// The `sidebundle` command as shipped (package.json's bin). It runs main.bundle.js, the CLI and
// everything it requires in one file (made from main.js by scripts/bundle-cli.js at build time),
// with V8's code cache kept between runs: a command's start-up is then one file read and almost
// no compiling, where it was ~100 modules each found, read and compiled. bench/results/startup.md
// has the figures. Node 22.1+ has module.enableCompileCache; Node 20 has nothing of the kind, so
// this file keeps the cache itself, one way for every Node.
//
// The cache holds compiled code and is trusted like code: read only from a directory this user
// owns and no one else can write, from a regular file likewise. V8 refuses data made by another
// V8, other flags or another source length (that run compiles afresh and writes a new cache); the
// file's name carries the bundle's inode, size and mtime, so a rebuilt bundle never meets an old
// cache. Each command has its own, written after its first successful run, so it holds the
// functions that command compiled. Failing to read or write it costs the speed-up, never an error.
// SIDEBUNDLE_DEBUG=code-cache says on stderr what became of it.
//
// This file requires none of sidebundle's modules but the cache-directory formula: each would be
// one more module found, read and compiled on every start.
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';

import { userCacheDir } from '../util/cache-dir';

const BUNDLE = path.join(__dirname, 'main.bundle.js');
const debug = (process.env.SIDEBUNDLE_DEBUG ?? '').split(',').includes('code-cache');

interface Cli {
  run(argv: string[]): void;
}

function say(message: string): void {
  if (debug) fs.writeSync(2, `sidebundle: code cache: ${message}\n`);
}

/** The directory of the code caches, made if absent; undefined unless only this user can write it. */
function cacheDir(): string | undefined {
  try {
    const dir = path.join(userCacheDir(), 'code-cache');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    if (st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0) return dir;
    say(`${dir} is not a directory of this user's that only it can write: not used`);
  } catch (error) {
    say(`no cache directory (${(error as Error).message})`);
  }
  return undefined;
}

/** The cache's bytes, if `file` is a regular file of this user's that only it can write. */
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

/** Write the cache after a successful run (through a new file renamed over the old one) and
 * remove this command's caches of other builds. */
function writeCache(dir: string, name: string, script: vm.Script): void {
  if (process.exitCode !== undefined && process.exitCode !== 0) return;
  const file = path.join(dir, name);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, script.createCachedData(), { mode: 0o600, flag: 'wx' });
    fs.renameSync(temporary, file);
    say(`${file}: written`);
    const stem = name.slice(0, name.indexOf('@') + 1);
    for (const other of fs.readdirSync(dir)) if (other.startsWith(stem) && other !== name && !other.endsWith('.tmp')) fs.rmSync(path.join(dir, other), { force: true });
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    say(`${file}: not written (${(error as Error).message})`);
  }
}

/** Compile and run the bundle, with the cache when there is one; its exports. */
function load(argv: string[]): Cli {
  const fd = fs.openSync(BUNDLE, 'r');
  const st = fs.fstatSync(fd);
  const bytes = fs.readFileSync(fd);
  fs.closeSync(fd);
  // ASCII (as scripts/bundle-cli.js makes it) is copied into a one-byte string; UTF-8 would be
  // decoded into a two-byte string, twice the memory and slower to read and compile.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  // The command (create, resolve, ...) has its own cache; anything else shares one.
  const command = /^[a-z]{1,16}$/.test(argv[0] ?? '') ? argv[0] : 'other';
  const name = `cli-${command}-node${process.version}-${process.arch}@${st.ino}-${st.size}-${st.mtimeMs}.v8`;
  const dir = cacheDir();
  const cachedData = dir === undefined ? undefined : readCache(path.join(dir, name));
  // The shebang line made a comment: the same length, so the same lines and columns in stacks.
  const body = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${body}\n})`, { filename: BUNDLE, cachedData });
  if (cachedData !== undefined) say(`${name}: ${script.cachedDataRejected ? 'rejected by V8' : 'used'}`);
  if (dir !== undefined && (cachedData === undefined || script.cachedDataRejected)) process.once('exit', () => writeCache(dir, name, script));
  const bundle = { exports: {} as Cli, filename: BUNDLE, id: BUNDLE, loaded: true };
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  run.call(bundle.exports, bundle.exports, createRequire(BUNDLE), bundle, BUNDLE, __dirname);
  return bundle.exports;
}

const argv = process.argv.slice(2);
// Without the bundle (a build by tsc alone), the modules themselves.
(fs.existsSync(BUNDLE) ? load(argv) : (require('./main') as Cli)).run(argv);
