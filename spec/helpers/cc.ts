// Compile small C programs and libraries for tests with the machine's gcc.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export function compile(outFile: string, source: string, flags: string[] = []): string {
  mkdirSync(path.dirname(outFile), { recursive: true });
  const src = `${outFile}.c`;
  writeFileSync(src, source);
  execFileSync('gcc', ['-O1', '-o', outFile, src, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  return outFile;
}

/** A shared library with a soname: `lib<name>.so.<major>.<minor>` plus `lib<name>.so.<major>` link. */
export function sharedLibrary(dir: string, name: string, major: number, source: string, flags: string[] = []): string {
  const real = path.join(dir, `lib${name}.so.${major}.0.1`);
  compile(real, source, ['-shared', '-fPIC', `-Wl,-soname,lib${name}.so.${major}`, ...flags]);
  execFileSync('ln', ['-sf', path.basename(real), path.join(dir, `lib${name}.so.${major}`)]);
  execFileSync('ln', ['-sf', `lib${name}.so.${major}`, path.join(dir, `lib${name}.so`)]);
  return real;
}
