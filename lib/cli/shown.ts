// One line of a command's human output that holds names from the bundle or the file system: its
// control characters (C0, DEL, C1) shown as \xNN, and the bidirectional text controls (which
// reorder what a terminal shows) as \uNNNN. A file named with escape sequences could
// otherwise move the cursor and print over the lines around it (a forged "ok" line, say).
export function shown(line: string): string {
  return line
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** A message of one or more lines (a warning, an error and its hint): each line as shown() makes
 * it, the line breaks kept. The names in it come from files, images and manifests: an escape
 * sequence in one could recolour, retitle or rewrite the terminal's lines around it. */
export function shownLines(text: string): string {
  return text.split('\n').map(shown).join('\n');
}
