// How long the files and functions of a source tree are, read with TypeScript's parser. Pure
// over a map of file → source, so a spec can feed it a synthetic tree and see it fail.
import * as ts from 'typescript';

/** A function (declaration, method, accessor, constructor, expression or arrow) and its length. */
export interface FunctionSize {
  file: string;
  name: string;
  /** First line of the function itself (its header comment excluded), 1-based. */
  line: number;
  lines: number;
  /** The text after `Long because:` in the function's header comment, if it gives one. */
  longBecause?: string;
}

const LONG_BECAUSE = /Long because:\s*(\S[^\n]*)/;

/** The number of lines of a source text (a final newline does not start a line). */
export function lineCount(source: string): number {
  return source.endsWith('\n') ? source.split('\n').length - 1 : source.split('\n').length;
}

/** Every function of every file, with its length in lines. */
export function functionSizes(files: Map<string, string>): FunctionSize[] {
  const out: FunctionSize[] = [];
  for (const [file, source] of files) {
    const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        const reason = LONG_BECAUSE.exec(headerOf(node, source))?.[1]?.replace(/\*\/\s*$/, '').trim();
        out.push({ file, name: nameOf(node), line: start + 1, lines: end - start + 1, ...(reason ? { longBecause: reason } : {}) });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

/** The comments before a function, or before the statement, member or property that holds it
 * (`const f = () => …`, `{ run: async () => … }`). */
function headerOf(node: ts.Node, source: string): string {
  const texts: string[] = [];
  for (let n: ts.Node | undefined = node; n !== undefined && !ts.isSourceFile(n); n = n.parent) {
    for (const range of ts.getLeadingCommentRanges(source, n.getFullStart()) ?? []) texts.push(source.slice(range.pos, range.end));
    if (ts.isStatement(n) || ts.isClassElement(n) || ts.isPropertyAssignment(n) || ts.isBlock(n.parent)) break;
  }
  return texts.join('\n');
}

/** The name a reader would search for: the function's own, or what holds it. */
function nameOf(node: ts.SignatureDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name !== undefined) return node.name.getText();
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name !== undefined) return parent.name.getText();
  return '(anonymous)';
}
