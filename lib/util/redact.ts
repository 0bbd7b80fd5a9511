// Trace commands are recorded in the shipped manifest.lock (as each traced file's reason); a
// token passed on a command line must not travel with the bundle. Values that look like
// credentials are replaced, the rest of the command is kept so the reason stays readable.
const SECRET_KEY = /(pass(word|wd|phrase)?|secret|token|api[-_]?key|access[-_]?key|auth(orization)?|credentials?|private[-_]?key|session|cookie)/i;
/** Token formats of common services, recognisable without context. */
export const TOKEN_FORMATS = [
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, // GitHub
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\bglpat-[A-Za-z0-9_-]{20,}\b/g, // GitLab
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, // AWS access key ids
  /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, // Slack
  /\bsk-(proj-)?[A-Za-z0-9]{32,}\b/g, // OpenAI-style secret keys (not ssh's sk-ecdsa-... key types)
  /\bnpm_[A-Za-z0-9]{30,}\b/g,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, // JWT
];
export const REDACTED = '<redacted>';

/** One argument with credential-looking values replaced. */
function redactWord(word: string): string {
  let out = word
    // scheme://user:password@host
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]+@/gi, `$1:${REDACTED}@`)
    // Authorization: Bearer xxx / Basic xxx
    .replace(/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`);
  // --password=x, TOKEN=x, api_key:x
  const assignment = /^(-{0,2}[A-Za-z0-9_.-]*?)([=:])(.+)$/.exec(out);
  if (assignment && SECRET_KEY.test(assignment[1]!)) out = `${assignment[1]}${assignment[2]}${REDACTED}`;
  for (const format of TOKEN_FORMATS) out = out.replace(format, REDACTED);
  return out;
}

/** The command as recorded in a bundle: argv joined by spaces, secrets replaced. A flag that
 * names a secret (`--password x`, `-H 'Authorization: ...'`) has its next argument replaced. */
export function redactedCommand(argv: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const previous = argv[i - 1];
    const flagNamesSecret = previous !== undefined && /^-{1,2}[A-Za-z0-9_-]+$/.test(previous) && SECRET_KEY.test(previous);
    out.push(flagNamesSecret ? REDACTED : redactWord(word));
  }
  return out.join(' ');
}
