// Where a command's bundle is: scripts/bundle-cli.js writes one per command beside main.js, and
// bin.js runs the one its first argument names. Both take the name from here.

/** A command name bin.js looks a bundle up by: a short word, never a path. */
export const COMMAND_NAME = /^[a-z]{1,16}$/;

/** The file name of `command`'s bundle, in dist/lib/cli. */
export function commandBundle(command: string): string {
  return `main.${command}.bundle.js`;
}
