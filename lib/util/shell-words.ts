// Split a command line into words with POSIX shell quoting rules (no expansion): single quotes,
// double quotes with backslash escapes for " \ $ `, and backslash escapes outside quotes.
import { SidebundleError } from '../errors';

export function shellWords(line: string, input = line): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw unterminated(input, 'single quote');
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1]!)) j++;
        word += line[j];
      }
      if (j >= line.length) throw unterminated(input, 'double quote');
      i = j;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function unterminated(input: string, what: string): SidebundleError {
  return new SidebundleError('BAD_COMMAND_LINE', `unterminated ${what} in ${JSON.stringify(input)}`, {
    input,
    kind: 'input',
    hint: 'close the quote, or quote the whole spec in single quotes for your shell',
  });
}
