// Options every sidebundle executor accepts (see each executor's schema.json for descriptions).
import type { EntryConfig } from '../../lib/config/config';
import type { TraceBackendRequest } from '../../lib/model/trace';

export interface SidebundleExecutorOptions {
  config?: string;
  name?: string;
  entries?: EntryConfig[];
  outDir?: string;
  traceRoot?: string;
  traceBackend?: TraceBackendRequest;
  traceTimeout?: number;
  traceInclude?: string[];
  copyDirs?: Array<string | { source: string; dest?: string }>;
  setEnv?: Record<string, string>;
  allowGpuLibs?: boolean;
  strictValidate?: boolean;
  runMode?: 'auto' | 'host' | 'ns' | 'bwrap' | 'chroot';
  emitSingleFile?: boolean;
  allowTraceFailure?: boolean;
  cacheDir?: string;
  imageBackend?: 'auto' | 'docker' | 'podman';
  imageTraceBackend?: TraceBackendRequest | 'agent' | 'agent-combined';
  imageAgentCli?: string;
  imageAgentBin?: string;
  closureFile?: string;
  tracedFile?: string;
  planFile?: string;
}
