// A path with its `.` and `..` worked out from its words alone: no symlink is looked at (the
// callers have followed them already, or the path names a place in a lock file, not on a disk).

/** `p` without empty, `.` and `..` parts. A `..` past the start is where the two kinds differ: an
 * absolute path stays at `/` (as the kernel does), a relative one keeps it (`../shared` is a place
 * beside the start: an npm lock names a package linked from outside its root so). */
export function lexicalPath(p: string): string {
  const absolute = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') out.push(part);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (!absolute) out.push('..');
  }
  return absolute ? `/${out.join('/')}` : out.join('/');
}

/** The directories above the relative path `p`, outermost first (`a/b/c`: `a`, then `a/b`). */
export function* ancestorsOf(p: string): Generator<string> {
  for (let cut = p.indexOf('/'); cut > 0; cut = p.indexOf('/', cut + 1)) yield p.slice(0, cut);
}
