// Tracing one command: backend selection (auto = combined, falling back to ptrace, then off,
// each with a warning saying why), the in-process native tracer for the host root, and the
// static agent for any other root (it enters the root: mount namespace + pivot_root). An
// AbortSignal (the CLI wires Ctrl+C to it) cancels the session: the native side kills the
// traced tree and returns what it saw.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import type { TraceBackend, TraceBackendRequest, TraceReport, TracedFile, TraceRequest } from '../model/trace';
import { agentBinaryPath, nativeBinding, type NativeBinding } from '../native/binding';
import { stringEnv } from '../util/env';

let sessions = 1;

/** Run `request.command` under the tracer and report what it touched. */
export async function trace(request: TraceRequest, binding?: NativeBinding): Promise<TraceReport> {
  const root = path.resolve(request.root ?? '/');
  const order: TraceBackend[] = request.backend === 'auto' ? ['combined', 'ptrace'] : request.backend === 'off' ? [] : [request.backend];
  const warnings: string[] = [];
  for (const backend of order) {
    try {
      const raw = root === '/' ? await runNative(request, backend, binding ?? nativeBinding()) : await runAgent(request, backend, root);
      return toReport(raw, request, root, backend, warnings);
    } catch (error) {
      if (request.backend !== 'auto' || !(error instanceof SidebundleError)) throw error;
      if (error.code === 'TRACE_NATIVE_UNAVAILABLE') {
        warnings.push(`tracing is off: ${error.message} (${error.hint})`);
        break;
      }
      if (!/DENIED$/.test(error.code)) throw error;
      warnings.push(`${backend} is not available (${error.message}); falling back`);
    }
  }
  if (request.backend === 'auto' && !warnings.some((w) => w.startsWith('tracing is off'))) warnings.push('no tracer is available here: tracing is off');
  return {
    schema: 'sidebundle/trace@1',
    command: request.command,
    cwd: request.cwd ?? process.cwd(),
    root,
    requestedBackend: request.backend,
    backend: 'off',
    exit: null,
    timedOut: false,
    cancelled: false,
    durationMs: 0,
    files: [],
    warnings,
  };
}

async function runNative(request: TraceRequest, backend: TraceBackend, binding: NativeBinding): Promise<Record<string, unknown>> {
  const session = sessions++;
  const onAbort = () => binding.cancel(session);
  request.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const raw = await binding.trace({
      command: request.command,
      cwd: request.cwd ?? process.cwd(),
      env: request.env ?? stringEnv(process.env),
      backend,
      timeoutMs: request.timeoutMs ?? 60_000,
      session,
      stdout: 'stderr',
    });
    throwIfError(raw, request.command);
    return raw;
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
  }
}

/** Trace inside another root with the static agent (it needs root privileges to enter it). */
async function runAgent(request: TraceRequest, backend: TraceBackend, root: string): Promise<Record<string, unknown>> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'sidebundle-agent-'));
  try {
    const spec = path.join(work, 'spec.json');
    await writeFile(spec, JSON.stringify({
      commands: [{
        command: request.command,
        cwd: request.cwd && request.cwd.startsWith(root) ? request.cwd.slice(root.length) || '/' : '/',
        ...(request.env ? { env: request.env } : {}),
        timeoutMs: request.timeoutMs ?? 60_000,
      }],
    }));
    const output = path.join(work, 'out');
    const agent = agentBinaryPath();
    await new Promise<void>((resolve, reject) => {
      const child = execFile(agent, ['trace', '--rootfs', root, '--spec', spec, '--output', output, '--trace-backend', backend], { maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
        if (error) {
          const code = /error\[([A-Z_]+)\]/.exec(stderr)?.[1] ?? 'TRACE_AGENT_FAILED';
          reject(new SidebundleError(code === 'AGENT_NAMESPACE_DENIED' ? 'TRACE_AGENT_DENIED' : code, `tracing inside ${root} failed: ${stderr.trim().split('\n')[0] ?? error.message}`, {
            input: root,
            hint: stderr.match(/hint: (.*)/)?.[1] ?? 'tracing inside a root needs root privileges (CAP_SYS_ADMIN)',
          }));
        } else {
          resolve();
        }
      });
      request.signal?.addEventListener('abort', () => child.kill('SIGKILL'), { once: true });
    });
    const [raw] = JSON.parse(await readFile(path.join(output, 'report.json'), 'utf8')) as Array<Record<string, unknown>>;
    throwIfError(raw!, request.command);
    return raw!;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function throwIfError(raw: Record<string, unknown>, command: string[]): void {
  const error = raw.error as { code?: string; message?: string; hint?: string } | undefined;
  if (!error) return;
  throw new SidebundleError(error.code ?? 'TRACE_FAILED', error.message ?? `tracing ${command.join(' ')} failed`, {
    input: command.join(' '),
    ...(error.hint ? { hint: error.hint } : {}),
    kind: error.code === 'TRACE_COMMAND_FAILED' ? 'input' : 'failure',
  });
}

function toReport(raw: Record<string, unknown>, request: TraceRequest, root: string, backend: TraceBackend, warnings: string[]): TraceReport {
  return {
    schema: 'sidebundle/trace@1',
    command: request.command,
    cwd: request.cwd ?? process.cwd(),
    root,
    requestedBackend: request.backend as TraceBackendRequest,
    backend,
    exit: (raw.exit as TraceReport['exit']) ?? null,
    timedOut: raw.timedOut === true,
    cancelled: raw.cancelled === true,
    durationMs: Number(raw.durationMs ?? 0),
    files: raw.files as TracedFile[],
    warnings: [...warnings, ...((raw.warnings as string[]) ?? [])],
  };
}
