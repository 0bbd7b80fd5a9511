// The version of this sidebundle, from its package.json (found upward from this file, which
// works both from the TypeScript sources and from dist/).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

export function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'sidebundle') return dir;
    } catch {
      // keep looking upward
    }
    if (path.dirname(dir) === dir) throw new Error('sidebundle: cannot find its own package.json');
  }
}

export function version(): string {
  if (cached === undefined) {
    cached = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  }
  return cached;
}
