// Byte code for the Python sources of a bundle, compiled at package time by the bundled
// interpreter itself (the same version, run from the staging payload with its own loader), in
// unchecked-hash mode: a .pyc that carries no mtime and is never checked against its source,
// so it stays valid after copies and cache restores that reset mtimes, and its bytes depend
// only on the source, its logical path and the interpreter. Unchecked rather than checked: the
// payload is read-only and `sidebundle verify` catches an edited source, while checked-hash
// would read and hash every imported source on every start. The machine's own timestamp-based
// .pyc files are dropped. Compiled files are remembered by (logical path, source digest) per
// interpreter digest, so a rebundle compiles only what changed.
import { cpus } from 'node:os';
import * as path from 'node:path';

import type { Diagnostic } from '../model/closure';
import type { LauncherPlan, MergedPlan, PlanFile } from '../model/plan';

export const INVALIDATION_MODE = 'unchecked-hash';

export interface Interpreter {
  payload: string;
  /** 3.11 */
  version: string;
  /** Bundle path of the pythonX.Y binary. */
  program: string;
  sha256: string;
  /** Its sys.prefix in the root (`/usr`). */
  prefix: string;
  loader?: string;
  libraryPath: string[];
}

/** One source to compile: where it is in the bundle (a file or a symlink to one), its digest. */
export interface Source {
  path: string;
  sha256: string;
}

export interface CompiledFile {
  sha256: string;
  size: number;
}

/** Compiled files of one interpreter, by `sourceKey`. */
export type CompiledIndex = Record<string, CompiledFile>;

export interface BytecodeStore {
  /** The index of earlier compilations with this interpreter (digest). */
  load(interpreterSha: string): Promise<CompiledIndex | undefined>;
  save(interpreterSha: string, index: CompiledIndex): void;
  /** A path holding a content, if stored (the cache's content store). */
  contentPath(sha256: string): string | undefined;
}

/** The CPython interpreters (pythonX.Y binaries) of a plan, one per payload and version. */
export function interpretersOf(plan: Pick<MergedPlan, 'files' | 'launchers'>): Interpreter[] {
  const out = new Map<string, Interpreter>();
  for (const file of plan.files) {
    const m = /^python(3\.\d+)$/.exec(path.posix.basename(file.path));
    if (!m || file.kind !== 'elf') continue;
    const payload = file.path.slice(0, file.path.indexOf('/'));
    const key = `${payload}\0${m[1]}`;
    if (out.has(key)) continue;
    // A launcher of this program (or any dynamic one of the payload) knows its loader and paths.
    const runs = (l: LauncherPlan) => l.payload === payload && l.program === file.path;
    const launcher = plan.launchers.find(runs) ?? plan.launchers.find((l) => l.payload === payload && l.loader !== undefined);
    if (file.interpreter !== undefined && launcher?.loader === undefined) continue;
    const logical = file.path.slice(payload.length);
    out.set(key, {
      payload,
      version: m[1]!,
      program: file.path,
      sha256: file.sha256,
      prefix: path.posix.dirname(path.posix.dirname(logical)),
      ...(file.interpreter !== undefined ? { loader: launcher!.loader!, libraryPath: launcher!.libraryPath ?? [] } : { libraryPath: [] }),
    });
  }
  return [...out.values()];
}

const cacheTag = (version: string) => `cpython-${version.replace('.', '')}`;

/** Where Python looks for the byte code of `source` (a bundle path ending in .py). */
export function pycPath(source: string, version: string): string {
  return `${path.posix.dirname(source)}/__pycache__/${path.posix.basename(source, '.py')}.${cacheTag(version)}.pyc`;
}

/** The machine's byte code for `version` (timestamp-checked: stale once mtimes are reset). */
export function isHostPyc(file: string, interpreter: Interpreter): boolean {
  if (!file.startsWith(`${interpreter.payload}/`) || !file.includes('/__pycache__/')) return false;
  return new RegExp(`\\.${cacheTag(interpreter.version)}(\\.opt-\\d)?\\.pyc$`).test(file);
}

/**
 * The .py files (and symlinks to them) of `interpreter`'s payload it should compile: all but
 * those in another version's library directory (/usr/lib/python3.9/ is 3.9's).
 */
export function sourcesFor(plan: Pick<MergedPlan, 'files' | 'symlinks'>, interpreter: Interpreter, all: Interpreter[]): Source[] {
  const prefix = `${interpreter.payload}/`;
  const others = all.filter((i) => i.payload === interpreter.payload && i.version !== interpreter.version).map((i) => `/python${i.version}/`);
  const wanted = (p: string) => p.startsWith(prefix) && p.endsWith('.py') && !others.some((o) => p.includes(o));
  const bySha = new Map(plan.files.map((f) => [f.path, f.sha256]));
  const out: Source[] = plan.files.filter((f) => wanted(f.path)).map((f) => ({ path: f.path, sha256: f.sha256 }));
  for (const link of plan.symlinks) {
    // sitecustomize.py -> /etc/python3.X/...: imported on every start, so compiled where it is seen.
    const sha = wanted(link.path) ? bySha.get(path.posix.join(path.posix.dirname(link.path), link.target)) : undefined;
    if (sha !== undefined) out.push({ path: link.path, sha256: sha });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export function sourceKey(source: Source, payload: string): string {
  return `${source.path.slice(payload.length)}\0${source.sha256}`;
}

// Reads [source, logical path, output] triples as JSON on stdin; prints the ones that failed.
const COMPILE_SCRIPT = `
import sys, json, py_compile
failed = []
for src, dfile, cfile in json.load(sys.stdin):
    try:
        py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True, optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except Exception as e:
        failed.append([dfile, type(e).__name__ + ': ' + str(e).splitlines()[0] if str(e) else type(e).__name__])
json.dump(failed, sys.stdout)
`;

export interface CompileJob {
  source: Source;
  /** Where the .pyc is written. */
  output: string;
}

/**
 * Run the staged interpreter over `jobs` (in a few processes, split in a fixed way). Returns the
 * sources that did not compile (a Python 2 file, a template), by logical path, with why; or why
 * the interpreter did not run at all.
 */
export async function compileWith(stagingDir: string, interpreter: Interpreter, jobs: CompileJob[]): Promise<{ failed: Array<[string, string]>; error?: string }> {
  const at = (p: string) => path.join(stagingDir, p);
  const command = interpreter.loader !== undefined
    ? [at(interpreter.loader), '--library-path', interpreter.libraryPath.map(at).join(':'), at(interpreter.program)]
    : [at(interpreter.program)];
  const env = {
    PATH: '/usr/bin:/bin',
    PYTHONHOME: at(`${interpreter.payload}${interpreter.prefix === '/' ? '' : interpreter.prefix}`),
    // Its own imports must not leave __pycache__ files in the staged payload.
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONHASHSEED: '0',
    PYTHONUTF8: '1',
  };
  const chunks = Math.max(1, Math.min(cpus().length, Math.ceil(jobs.length / 200)));
  const triples = jobs.map((j) => [at(j.source.path), j.source.path.slice(interpreter.payload.length), j.output]);
  const parts = Array.from({ length: chunks }, (_, c) => triples.filter((_t, i) => i % chunks === c));
  const results = await Promise.all(parts.map((part) => run(command, ['-B', '-s', '-S', '-c', COMPILE_SCRIPT], JSON.stringify(part), env)));
  const failed: Array<[string, string]> = [];
  for (const r of results) {
    if (r.error !== undefined) return { failed, error: r.error };
    failed.push(...(JSON.parse(r.stdout) as Array<[string, string]>));
  }
  return { failed };
}

function run(command: string[], args: string[], input: string, env: Record<string, string>): Promise<{ stdout: string; error?: string }> {
  return new Promise((resolve) => {
    // child_process on first use: loading it (with net and dgram) costs every create ~6 ms.
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const child = spawn(command[0]!, [...command.slice(1), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (e) => resolve({ stdout, error: e.message }));
    child.on('close', (code) => resolve(code === 0 ? { stdout } : { stdout, error: stderr.trim().split('\n').pop() || `exit status ${code}` }));
    child.stdin.on('error', () => undefined); // it died early: reported by close
    child.stdin.end(input);
  });
}

export function bytecodeDiagnostic(interpreter: Interpreter, compiled: number, reused: number, failed: Array<[string, string]>, error?: string): Diagnostic {
  if (error !== undefined) {
    return { level: 'warning', code: 'BYTECODE_SKIPPED', message: `python ${interpreter.version} (${interpreter.program}): no byte code shipped, the bundled interpreter did not run at package time (${error}); it compiles the sources it imports on every start` };
  }
  const failures = failed.length ? `; ${failed.length} not compilable, shipped as source only (first: ${failed[0]![0]}: ${failed[0]![1]})` : '';
  // No count of what came from the cache here: the message goes into manifest.lock, which must
  // not depend on the cache's history (PackResult.bytecode says it).
  return { level: 'info', code: 'BYTECODE_COMPILED', message: `python ${interpreter.version}: ${compiled + reused} .pyc (${INVALIDATION_MODE})${failures}` };
}

/** The plan file of a compiled .pyc. */
export function pycFile(source: Source, interpreter: Interpreter, compiled: CompiledFile, from: string): PlanFile {
  return {
    path: pycPath(source.path, interpreter.version),
    source: from,
    sha256: compiled.sha256,
    size: compiled.size,
    mode: 0o444,
    kind: 'data',
    reasons: [{ kind: 'collected', family: 'python', what: `byte code (${INVALIDATION_MODE}) of ${source.path.slice(interpreter.payload.length)}` }],
  };
}
