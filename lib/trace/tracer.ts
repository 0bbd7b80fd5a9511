// Tracing one command: backend selection (auto = combined, falling back to ptrace, then off,
// each with a warning saying why), the in-process native tracer for the host root, and the
// static agent for any other root (it enters the root: mount namespace + pivot_root). An
// AbortSignal (the CLI wires Ctrl+C to it) cancels the session: the native side kills the
// traced tree and returns what it saw.
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { DEFAULT_TRACE_TIMEOUT_MS, type TraceBackend, type TraceReport, type TraceRequest } from '../model/trace';
import { agentBinaryPath, nativeBinding, type NativeBinding } from '../native/binding';
import { agentArgs, agentFailure, readAgentReport, throwIfRunFailed, toTraceReport, writeAgentSpec, type RawRun } from './agent';
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
      return toTraceReport(raw, { command: request.command, cwd: request.cwd ?? process.cwd(), root, requestedBackend: request.backend, backend, warnings });
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

async function runNative(request: TraceRequest, backend: TraceBackend, binding: NativeBinding): Promise<RawRun> {
  const session = sessions++;
  const onAbort = () => binding.cancel(session);
  request.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const raw = await binding.trace({
      command: request.command,
      cwd: request.cwd ?? process.cwd(),
      env: request.env ?? stringEnv(process.env),
      backend,
      timeoutMs: request.timeoutMs ?? DEFAULT_TRACE_TIMEOUT_MS,
      session,
      stdout: 'stderr',
    });
    throwIfRunFailed(raw, request.command);
    return raw;
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
  }
}

/** Trace inside another root with the static agent (it needs root privileges to enter it). */
async function runAgent(request: TraceRequest, backend: TraceBackend, root: string): Promise<RawRun> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'sidebundle-agent-'));
  try {
    const spec = writeAgentSpec(work, request, request.cwd && request.cwd.startsWith(root) ? request.cwd.slice(root.length) || '/' : '/');
    const output = path.join(work, 'out');
    const agent = agentBinaryPath();
    await new Promise<void>((resolve, reject) => {
      // child_process on first use (with net and dgram, ~6 ms): a create without a trace never loads it.
      const { execFile } = require('node:child_process') as typeof import('node:child_process');
      const child = execFile(agent, agentArgs(root, spec, output, backend), { maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
        if (error) {
          const said = agentFailure(stderr);
          const code = said.code ?? 'TRACE_AGENT_FAILED';
          reject(new SidebundleError(code === 'AGENT_NAMESPACE_DENIED' ? 'TRACE_AGENT_DENIED' : code, `tracing inside ${root} failed: ${stderr.trim().split('\n')[0] ?? error.message}`, {
            input: root,
            hint: said.hint ?? 'tracing inside a root needs root privileges (CAP_SYS_ADMIN)',
          }));
        } else {
          resolve();
        }
      });
      request.signal?.addEventListener('abort', () => child.kill('SIGKILL'), { once: true });
    });
    return readAgentReport(output, request.command);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
