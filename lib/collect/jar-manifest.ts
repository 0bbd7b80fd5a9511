// A jar's META-INF/MANIFEST.MF as the JVM reads it (java.util.jar.Manifest): `Name: value`
// lines, a line starting with one space continues the previous one, the main section ends at
// the first blank line. Class-Path is a space-separated list of URLs relative to the jar's
// directory (a trailing / names a directory of classes).
import * as path from 'node:path';

/** The main section's attributes (names as written; the JVM compares them case-insensitively). */
export function manifestAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') break; // the end of the main section
    if (line.startsWith(' ') && last !== undefined) {
      out.set(last, out.get(last)! + line.slice(1));
      continue;
    }
    const colon = line.indexOf(': ');
    if (colon <= 0) continue;
    last = line.slice(0, colon).toLowerCase();
    out.set(last, line.slice(colon + 2));
  }
  return out;
}

/** The logical paths a jar's Class-Path names, relative to the jar's directory. URLs with a
 * scheme (http:, file: with an absolute path) are left to the JVM: they name no file here
 * but an absolute file: URL. */
export function classPathOf(jar: string, value: string): string[] {
  const dir = path.posix.dirname(jar);
  const out: string[] = [];
  for (const word of value.split(/\s+/).filter(Boolean)) {
    let url = word;
    if (/^file:/.test(url)) url = url.replace(/^file:(\/\/)?/, '');
    else if (/^[a-z][a-z0-9+.-]*:/i.test(url)) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(url);
    } catch {
      decoded = url;
    }
    out.push(path.posix.normalize(decoded.startsWith('/') ? decoded : `${dir}/${decoded}`).replace(/\/$/, '') || '/');
  }
  return out;
}
