// Images through a container engine (docker or podman): `create` a container, stream its
// `export` through the same sanitising unpacker (no temporary copy of the tar), `rm` it. The
// engine command line is configurable (--image-agent-cli, e.g. "sudo -n podman" or podman with
// storage flags); `auto` tries docker, then podman, and says why each was passed over.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { shellWords } from '../util/shell-words';
import type { ImageConfig } from './manifest';

export interface Engine {
  /** The command and its leading arguments (e.g. ["podman", "--storage-driver", "vfs"]). */
  argv: string[];
  name: 'docker' | 'podman';
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runEngine(engine: Engine, args: string[], options: { signal?: AbortSignal; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(engine.argv[0]!, [...engine.argv.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** The engine to use: the requested one (with a custom command line), or docker then podman. */
export async function pickEngine(requested: 'docker' | 'podman' | 'auto', cli: string | undefined): Promise<Engine> {
  const candidates: Engine[] = [];
  if (cli) {
    const argv = shellWords(cli, '--image-agent-cli');
    const name = argv.some((a) => /(^|\/)podman$/.test(a)) ? 'podman' : 'docker';
    candidates.push({ argv, name: requested === 'auto' ? name : requested });
  } else if (requested === 'auto') {
    candidates.push({ argv: ['docker'], name: 'docker' }, { argv: ['podman'], name: 'podman' });
  } else {
    candidates.push({ argv: [requested], name: requested });
  }
  const reasons: string[] = [];
  for (const engine of candidates) {
    try {
      const probe = await runEngine(engine, ['version', '--format', engine.name === 'docker' ? '{{.Server.Version}}' : '{{.Version}}']);
      if (probe.code === 0 && probe.stdout.trim()) return engine;
      reasons.push(`${engine.argv.join(' ')}: ${probe.stderr.trim().split('\n').pop() ?? `exit ${probe.code}`}`);
    } catch (error) {
      reasons.push(`${engine.argv.join(' ')}: ${(error as Error).message}`);
    }
  }
  throw new SidebundleError('IMAGE_ENGINE_UNAVAILABLE', `no container engine is usable (${reasons.join('; ')})`, {
    hint: 'start docker or install podman, pass --image-agent-cli with the engine command, or use an engine-free source (oci:, oci-archive:, docker-archive:, registry://)',
  });
}

export interface EngineImage {
  id: string;
  config: ImageConfig;
}

/** The engine's id (a content digest) and config of an image, pulling it when missing. */
export async function inspectImage(engine: Engine, image: string, signal?: AbortSignal): Promise<EngineImage> {
  let inspect = await runEngine(engine, ['image', 'inspect', image], signal ? { signal } : {});
  if (inspect.code !== 0) {
    const pull = await runEngine(engine, ['pull', image], signal ? { signal } : {});
    if (pull.code !== 0) {
      throw new SidebundleError('IMAGE_NOT_FOUND', `${engine.name} cannot find or pull ${image}: ${pull.stderr.trim().split('\n').pop()}`, {
        input: image,
        kind: 'input',
        hint: `check the image name (${engine.argv.join(' ')} images lists what is there)`,
      });
    }
    inspect = await runEngine(engine, ['image', 'inspect', image], signal ? { signal } : {});
  }
  const [data] = JSON.parse(inspect.stdout) as Array<{ Id: string; Config?: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; User?: string } }>;
  const c = data?.Config ?? {};
  const id = data!.Id.startsWith('sha256:') ? data!.Id : `sha256:${data!.Id}`;
  return {
    id,
    config: {
      env: c.Env ?? [],
      ...(c.Entrypoint ? { entrypoint: c.Entrypoint } : {}),
      ...(c.Cmd ? { cmd: c.Cmd } : {}),
      ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
      ...(c.User ? { user: c.User } : {}),
    },
  };
}

/** Export the filesystem of `image` as a tar stream, handed to `consume`; the container is removed after. */
export async function exportImage(engine: Engine, image: string, consume: (tar: NodeJS.ReadableStream) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const created = await runEngine(engine, ['create', image, '/sidebundle-export'], signal ? { signal } : {});
  if (created.code !== 0) {
    throw new SidebundleError('IMAGE_ENGINE_FAILED', `${engine.name} create ${image} failed: ${created.stderr.trim()}`, { input: image, hint: 'check the engine and the image' });
  }
  const container = created.stdout.trim().split('\n').pop()!;
  // The tar streams through a named pipe: podman opens its output by path, which a socket (what
  // Node gives a child as stdout) cannot be; a FIFO can, and nothing is stored on disk.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sidebundle-export-'));
  const fifo = path.join(dir, 'rootfs.tar');
  try {
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const child = spawn(engine.argv[0]!, [...engine.argv.slice(1), 'export', '--output', fifo, container], { stdio: ['ignore', 'ignore', 'pipe'], ...(signal ? { signal } : {}) });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const reader = createReadStream(fifo);
    const failed = exited.then((code) => {
      if (code !== 0) reader.destroy(new SidebundleError('IMAGE_ENGINE_FAILED', `${engine.name} export of ${image} failed: ${stderr.trim()}`, { input: image, hint: 'check the engine' }));
      return code;
    });
    await consume(reader);
    if ((await failed) !== 0) throw new SidebundleError('IMAGE_ENGINE_FAILED', `${engine.name} export of ${image} failed: ${stderr.trim()}`, { input: image, hint: 'check the engine' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await runEngine(engine, ['rm', '-f', container]);
  }
}
