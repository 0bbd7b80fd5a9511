// The user's cache directory, one formula for every cache sidebundle keeps (the step cache, the
// image store, V8's compile cache): $XDG_CACHE_HOME when it is an absolute path (the XDG spec
// says a relative one is to be ignored), else ~/.cache; then sidebundle/.
import * as os from 'node:os';
import * as path from 'node:path';

export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'sidebundle');
}
