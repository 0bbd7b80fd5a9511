// The `agent` and `agent-combined` image trace backends: the static sidebundle-agent runs inside
// a container of the image, through the engine, with the capabilities tracing needs
// (SYS_PTRACE; SYS_ADMIN for fanotify) and seccomp unconfined, as the permission table says. It
// traces in place (--rootfs /) and writes its report into a directory bound from the host; the
// paths it reports are paths inside the image, as the unpacked rootfs has them.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { runEngine, type Engine } from '../image/engine';
import type { TraceReport, TraceRequest, TraceRunner } from '../model/trace';
import { agentBinaryPath } from '../native/binding';
import { agentArgs, readAgentReport, toTraceReport, writeAgentSpec } from './agent';

export interface ContainerAgentOptions {
  engine: Engine;
  image: string;
  backend: 'ptrace' | 'combined';
  /** The agent binary to bind into the container (default: the one shipped with sidebundle). */
  agentBin?: string;
  /** Keep the agent's output directory, and say where it is. */
  keepOutput?: (dir: string) => void;
}

export function containerAgentRunner(options: ContainerAgentOptions): TraceRunner {
  return async (request: TraceRequest): Promise<TraceReport> => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'sidebundle-agent-'));
    const started = Date.now();
    try {
      writeAgentSpec(work, request, '/');
      const agent = options.agentBin ?? agentBinaryPath();
      const run = await runEngine(options.engine, [
        'run', '--rm', '--network', 'none',
        '--cap-add', 'SYS_PTRACE', ...(options.backend === 'combined' ? ['--cap-add', 'SYS_ADMIN'] : []),
        '--security-opt', 'seccomp=unconfined',
        '-v', `${agent}:/.sidebundle-agent:ro`, '-v', `${work}:/.sidebundle-out`,
        '--entrypoint', '/.sidebundle-agent',
        options.image,
        ...agentArgs('/', '/.sidebundle-out/spec.json', '/.sidebundle-out', options.backend),
      ], request.signal ? { signal: request.signal } : {});
      if (run.code !== 0) {
        throw new SidebundleError('TRACE_AGENT_FAILED', `the agent in a ${options.engine.name} container of ${options.image} failed (exit ${run.code}): ${run.stderr.trim().split('\n').slice(-3).join(' / ')}`, {
          input: options.image,
          hint: `the engine must allow --cap-add SYS_PTRACE${options.backend === 'combined' ? ' and SYS_ADMIN' : ''} and --security-opt seccomp=unconfined; try --image-trace-backend agent (ptrace only) or the default (trace from the host in the unpacked rootfs)`,
        });
      }
      const raw = readAgentReport(work, request.command);
      return toTraceReport(raw, {
        command: request.command,
        cwd: '/',
        root: request.root ?? '/',
        requestedBackend: request.backend,
        backend: options.backend,
        durationMs: Date.now() - started,
        warnings: [`traced inside a ${options.engine.name} container of ${options.image} (agent)`],
      });
    } finally {
      if (options.keepOutput) options.keepOutput(work);
      else rmSync(work, { recursive: true, force: true });
    }
  };
}
