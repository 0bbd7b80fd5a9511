// A real Nx workspace for end-to-end tests: nx 24 from npm, and sidebundle installed from the
// tarball `npm pack` makes of this repository (what a user installs). npm resolves everything
// else from its cache (the repository's own `npm ci` filled it).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { repoRoot } from '../helpers/cli';

const NX_VERSION = (require('nx/package.json') as { version: string }).version;

/** `npm pack` of the repository (built by `npm test` beforehand) into `dir`. */
export function packRepository(dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot, stdio: 'ignore' });
  const tarball = readdirSync(dir).find((f) => f.startsWith('sidebundle-') && f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  return path.join(dir, tarball);
}

export interface WorkspaceOptions {
  tarball: string;
  /** project root → files (path relative to the project → content) */
  projects: Record<string, Record<string, string>>;
  /** Extra nx.json fields. */
  nxJson?: Record<string, unknown>;
  /** The nx version to install (default: the repository's own). */
  nxVersion?: string;
  /** More devDependencies of the workspace (a plugin's @nx/devkit, as create-nx-workspace gives). */
  devDependencies?: Record<string, string>;
}

export function createWorkspace(dir: string, options: WorkspaceOptions): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'e2e-workspace',
    private: true,
    devDependencies: { nx: options.nxVersion ?? NX_VERSION, ...options.devDependencies, sidebundle: `file:${options.tarball}` },
  }, null, 2));
  writeFileSync(path.join(dir, 'nx.json'), JSON.stringify({ plugins: ['sidebundle/plugin'], ...options.nxJson }, null, 2));
  writeFileSync(path.join(dir, '.gitignore'), 'node_modules\ndist\n.nx\n__pycache__\n');
  writeProjects(dir, options.projects);
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, stdio: 'ignore' });
}

export function writeProjects(dir: string, projects: WorkspaceOptions['projects']): void {
  for (const [root, files] of Object.entries(projects)) {
    for (const [file, content] of Object.entries(files)) {
      const at = path.join(dir, root, file);
      mkdirSync(path.dirname(at), { recursive: true });
      writeFileSync(at, content, { mode: file.endsWith('.sh') || file.endsWith('.py') ? 0o755 : 0o644 });
    }
  }
}

/** A second clone: the same sources and lockfile, its own node_modules copy, no dist/. */
export function cloneWorkspace(from: string, to: string): void {
  cpSync(from, to, { recursive: true, verbatimSymlinks: true, filter: (src) => !/^\/(dist|\.nx)(\/|$)/.test(src.slice(from.length)) });
}

export interface NxRun {
  status: number | null;
  output: string;
  /** task → 'run' | 'cache' */
  tasks: Record<string, 'run' | 'cache'>;
}

/** Run nx in `dir` (asynchronously: a server in this process, like the remote cache, keeps serving). */
export async function nx(dir: string, args: string[], env: Record<string, string> = {}): Promise<NxRun> {
  const child = spawn(process.execPath, [path.join(dir, 'node_modules/nx/dist/bin/nx.js'), ...args], {
    cwd: dir,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: undefined, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const result = { status };
  const tasks: Record<string, 'run' | 'cache'> = {};
  // `> nx run` heads a task whose output is shown; `✔ nx run` one whose output is folded away.
  for (const m of output.matchAll(/^\s*(?:>|✔|✖)\s+nx run (\S+)(.*)$/gm)) {
    tasks[m[1]!] = /\[(local cache|remote cache|existing outputs match the cache, left as is)\]/.test(m[2]!) ? 'cache' : 'run';
  }
  return { status: result.status, output, tasks };
}
