// Run the built CLI (dist/, made by `npm test` before jest) as a user would.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '../..');
/** Each test run gets its own step cache (the CLI's default is the user's ~/.cache/sidebundle). */
const cacheHome = mkdtempSync(path.join(os.tmpdir(), 'sb-xdg-'));
afterAll(() => rmSync(cacheHome, { recursive: true, force: true }));
/** The shipped command (package.json's bin): the bundled CLI, with its code cache. */
export const cliPath = path.join(repoRoot, 'dist/lib/cli/bin.js');
/** The CLI's modules as tsc built them, which the bundle is made from (what each command loads). */
export const mainPath = path.join(repoRoot, 'dist/lib/cli/main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cli?: string; timeout?: number } = {}): CliResult {
  const result = spawnSync(process.execPath, [options.cli ?? cliPath, ...args], {
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
    encoding: 'utf8',
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, XDG_CACHE_HOME: cacheHome, ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Start the CLI without waiting (for interruption tests). */
export function startCli(args: string[], options: { cwd?: string } = {}) {
  return spawn(process.execPath, [cliPath, ...args], { cwd: options.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
}

/** `sidebundle create ... --json`, expecting success; returns the parsed result. */
export function createBundle(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): { dir: string; manifestSha256: string; validation: { ok: boolean; issues: unknown[] }; [k: string]: unknown } {
  const result = runCli(['create', ...args, '--json'], options);
  if (result.status !== 0) {
    throw new Error(`sidebundle create failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return JSON.parse(result.stdout).bundle;
}
