import type { RunMode } from '../../lib/model/options';
import type { TraceBackendRequest } from '../../lib/model/trace';

export interface ConfigurationGeneratorSchema {
  project: string;
  entries?: string[] | string;
  name?: string;
  traceBackend?: TraceBackendRequest;
  outDir?: string;
  runMode?: RunMode;
  emitSingleFile?: boolean;
  skipFormat?: boolean;
}
