// Trace commands are split as a POSIX shell would split them, without expanding anything.
import { shellWords } from '../../../lib/util/shell-words';

describe('shellWords', () => {
  test.each([
    ['blanks separate words; runs of blanks and tabs count once', 'jq  -n\t1 ', ['jq', '-n', '1']],
    ['single quotes keep everything, backslashes and $ included', `python3 -c 'print("a\\\\b $HOME")'`, ['python3', '-c', 'print("a\\\\b $HOME")']],
    ['double quotes unescape only " \\ $ and `', 'sh -c "echo \\"x\\" \\$y \\n"', ['sh', '-c', 'echo "x" $y \\n']],
    ['quoted parts join the word around them', `a'b c'"d e"f`, ['ab cd ef']],
    ['a backslash outside quotes escapes a blank', 'ls my\\ file', ['ls', 'my file']],
    ['an empty quoted string is a word', `printf '' x`, ['printf', '', 'x']],
    ['no expansion: globs, variables and ~ stay as written', 'ls *.txt $HOME ~', ['ls', '*.txt', '$HOME', '~']],
    ['nothing but blanks is no word', '   ', []],
  ])('%s', (_behaviour, line, words) => {
    expect(shellWords(line)).toEqual(words);
  });

  test.each([
    ["echo 'open", 'single quote'],
    ['echo "open', 'double quote'],
    ['echo "ends in an escaped quote\\"', 'double quote'],
  ])('%s: an unterminated quote is bad input naming the whole spec', (line, what) => {
    expect(() => shellWords(line, `/usr/bin/x::trace=${line}`)).toThrow(
      expect.objectContaining({ code: 'BAD_COMMAND_LINE', kind: 'input', input: `/usr/bin/x::trace=${line}`, message: expect.stringContaining(`unterminated ${what}`) }),
    );
  });
});
