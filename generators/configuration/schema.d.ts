export interface ConfigurationGeneratorSchema {
  project: string;
  entries?: string[] | string;
  name?: string;
  traceBackend?: 'off' | 'auto' | 'ptrace' | 'fanotify' | 'combined';
  outDir?: string;
  runMode?: 'auto' | 'host' | 'ns' | 'bwrap' | 'chroot';
  emitSingleFile?: boolean;
  skipFormat?: boolean;
}
