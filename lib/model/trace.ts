// TraceReport: what one traced run of a command touched. Produced by lib/trace (the native shim or
// the agent binary), read by the trace step (lib/steps/trace.ts), which resolves what a run touched
// like the static closure. Plain JSON, versioned by `schema`.
import { DEFAULT_PATH } from './closure';

/** What the tracer can be asked for: a backend, or auto (combined, falling back to ptrace, then off). */
export const TRACE_BACKEND_REQUESTS = ['off', 'auto', 'ptrace', 'fanotify', 'combined'] as const;
export type TraceBackendRequest = (typeof TRACE_BACKEND_REQUESTS)[number];
export type TraceBackend = Exclude<TraceBackendRequest, 'auto'>;
/** How image entries may be traced besides those: by the agent inside a container of the image. */
export const IMAGE_TRACE_BACKENDS = [...TRACE_BACKEND_REQUESTS, 'agent', 'agent-combined'] as const;
export type ImageTraceBackend = (typeof IMAGE_TRACE_BACKENDS)[number];
/** A trace command (and all it started) is killed after this long. */
export const DEFAULT_TRACE_TIMEOUT_SECONDS = 60;
export const DEFAULT_TRACE_TIMEOUT_MS = DEFAULT_TRACE_TIMEOUT_SECONDS * 1000;
/** What a command traced by the agent inside another root gets when its request names no
 * environment: what a root shell there would have. Every spec sidebundle writes for the agent
 * carries it and the timeout; native/src/bin/agent.rs keeps the same two as its fallback for a
 * spec written by hand, and spec/unit/trace/agent.spec.ts fails when they part. */
export const DEFAULT_TRACE_ENV: Readonly<Record<string, string>> = { PATH: DEFAULT_PATH.join(':'), HOME: '/root', LANG: 'C.UTF-8' };

/** One command to trace, in a root, with a backend: what every tracer takes (lib/trace). */
export interface TraceRequest {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
  root?: string;
  backend: TraceBackendRequest;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Runs one trace; the default is the native tracer (lib/trace/tracer.ts), the container agent
 * is another (lib/trace/container.ts), a test passes its own. */
export type TraceRunner = (request: TraceRequest) => Promise<TraceReport>;

/** What a process did with a path. `exec`: execve/execveat; `open`: open/openat/openat2 of a file;
 * `opendir`: an open with O_DIRECTORY (a program listing a directory); `stat`: stat family,
 * access, readlink. */
export type TraceOp = 'exec' | 'open' | 'opendir' | 'stat';

export interface TracedFile {
  /** Absolute path as the traced process named it (relative and dirfd-relative paths resolved
   * against its cwd and fd table; symlinks NOT resolved), inside the traced root. */
  path: string;
  /** The file the kernel actually opened (readlink of the new fd), when it differs from `path`. */
  resolved?: string;
  ops: TraceOp[];
  /** True when at least one operation on this path succeeded. */
  found: boolean;
  /** Which backends saw it. */
  seenBy: Array<'ptrace' | 'fanotify'>;
}

export type TraceExit = { code: number } | { signal: string };

export interface TraceReport {
  schema: 'sidebundle/trace@1';
  /** argv of the traced command. */
  command: string[];
  cwd: string;
  /** The root the command ran in ('/' for the host, or an unpacked image rootfs). */
  root: string;
  requestedBackend: TraceBackendRequest;
  /** The backend that actually ran (after auto selection and fallbacks). */
  backend: TraceBackend;
  exit: TraceExit | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  /** Every distinct path, sorted by path. */
  files: TracedFile[];
  /** Human-readable notes: fallbacks taken and why, events dropped, ... */
  warnings: string[];
}
