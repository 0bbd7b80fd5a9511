// The static sidebundle-agent's protocol, for both callers: the tracer (inside another root) and
// the container runner (inside a container of an image). The agent reads a spec.json (the
// commands), writes a report.json (one raw report per command, fields as the native shim's),
// and says on stderr `error[CODE]` and `hint: …` when it cannot run at all.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { DEFAULT_TRACE_ENV, DEFAULT_TRACE_TIMEOUT_MS, type TraceBackend, type TraceReport, type TraceRequest, type TracedFile } from '../model/trace';

/** One run as the native shim and the agent report it (before it becomes a TraceReport). */
export type RawRun = Record<string, unknown>;

/** Write the agent's spec for one command into `dir`; `cwd` is the path inside the root. The
 * defaults go with it, so the agent's own are never the ones used (lib/model/trace.ts). */
export function writeAgentSpec(dir: string, request: TraceRequest, cwd: string): string {
  const file = path.join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(agentSpec(request, cwd)));
  return file;
}

export function agentSpec(request: TraceRequest, cwd: string): { commands: Array<Record<string, unknown>> } {
  return { commands: [{ command: request.command, cwd, env: request.env ?? DEFAULT_TRACE_ENV, timeoutMs: request.timeoutMs ?? DEFAULT_TRACE_TIMEOUT_MS }] };
}

/** The agent's command line: trace the spec's commands inside `rootfs`, write into `output`. */
export function agentArgs(rootfs: string, spec: string, output: string, backend: TraceBackend): string[] {
  return ['trace', '--rootfs', rootfs, '--spec', spec, '--output', output, '--trace-backend', backend];
}

/** The one run the agent reported in `output`; throws the error it reported, if any. */
export function readAgentReport(output: string, command: string[]): RawRun {
  const file = path.join(output, 'report.json');
  let runs: RawRun[];
  try {
    runs = JSON.parse(readFileSync(file, 'utf8')) as RawRun[];
  } catch (cause) {
    throw new SidebundleError('TRACE_AGENT_FAILED', `the agent wrote no readable report (${(cause as Error).message})`, { input: command.join(' '), cause });
  }
  const raw = runs[0];
  if (!raw) throw new SidebundleError('TRACE_AGENT_FAILED', 'the agent wrote no report', { input: command.join(' ') });
  throwIfRunFailed(raw, command);
  return raw;
}

/** A run the shim or the agent could not trace carries {error}: throw it as ours. */
export function throwIfRunFailed(raw: RawRun, command: string[]): void {
  const error = raw.error as { code?: string; message?: string; hint?: string } | undefined;
  if (!error) return;
  throw new SidebundleError(error.code ?? 'TRACE_FAILED', error.message ?? `tracing ${command.join(' ')} failed`, {
    input: command.join(' '),
    ...(error.hint ? { hint: error.hint } : {}),
    kind: error.code === 'TRACE_COMMAND_FAILED' ? 'input' : 'failure',
  });
}

/** What the agent said on stderr when it could not run: its error code and hint, if any. */
export function agentFailure(stderr: string): { code?: string; hint?: string } {
  const code = /error\[([A-Z_]+)\]/.exec(stderr)?.[1];
  const hint = /hint: (.*)/.exec(stderr)?.[1];
  return { ...(code ? { code } : {}), ...(hint ? { hint } : {}) };
}

/** A raw run as a TraceReport: what ran where (`base`), what the run saw (`raw`). */
export function toTraceReport(raw: RawRun, base: Pick<TraceReport, 'command' | 'cwd' | 'root' | 'requestedBackend' | 'backend' | 'warnings'> & { durationMs?: number }): TraceReport {
  return {
    schema: 'sidebundle/trace@1',
    command: base.command,
    cwd: base.cwd,
    root: base.root,
    requestedBackend: base.requestedBackend,
    backend: base.backend,
    exit: (raw.exit as TraceReport['exit']) ?? null,
    timedOut: raw.timedOut === true,
    cancelled: raw.cancelled === true,
    durationMs: Number(raw.durationMs ?? base.durationMs ?? 0),
    files: raw.files as TracedFile[],
    warnings: [...base.warnings, ...((raw.warnings as string[]) ?? [])],
  };
}
