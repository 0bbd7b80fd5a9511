// The user's cache directory, one formula for every cache sidebundle keeps (the step cache, the
// image store, V8's compile cache): $XDG_CACHE_HOME when it is an absolute path (the XDG spec
// says a relative one is to be ignored), else ~/.cache; then sidebundle/.
import * as path from 'node:path';

export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(homeDir(env), '.cache'), 'sidebundle');
}

/** $HOME, as os.homedir() reads it first; node:os (~0.3 ms to load, on every start of the CLI,
 * which comes here for its code cache) only where HOME is unset or empty. */
function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME || (require('node:os') as typeof import('node:os')).homedir();
}
