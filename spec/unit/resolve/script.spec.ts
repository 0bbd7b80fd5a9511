import { scanShellCommands } from '../../../lib/resolve/script-scan';
import { entryShebang, envCommand, JS_SHEBANG, parseShebang, SIDEBUNDLE_SH_NODE_LINE } from '../../../lib/resolve/shebang';

describe('shebang lines are read as the kernel reads them', () => {
  test.each([
    ['#!/bin/sh\necho', { interpreter: '/bin/sh' }],
    ['#! /usr/bin/perl -w\n', { interpreter: '/usr/bin/perl', arg: '-w' }],
    ['#!/usr/bin/env python3\n', { interpreter: '/usr/bin/env', arg: 'python3' }],
    ['#!/usr/bin/awk -f -v x=1 \r\n', { interpreter: '/usr/bin/awk', arg: '-f -v x=1' }],
    ['#!\t/bin/bash\t\n', { interpreter: '/bin/bash' }],
  ])('%j', (text, expected) => {
    expect(parseShebang(Buffer.from(text))).toEqual(expected);
  });

  test('no shebang, or an empty one', () => {
    expect(parseShebang(Buffer.from('echo hi'))).toBeUndefined();
    expect(parseShebang(Buffer.from('#!\n'))).toBeUndefined();
  });

  test('an entry that is a sh/node polyglot runs with node (the bundled one), not with its shell part', () => {
    const polyglot = (first: string, second: string) => entryShebang(Buffer.from(`${first}\n${second}\n"use strict";\n`), '/app/cli');
    expect(polyglot('#!/bin/sh', `':' //; exec node "$0" "$@"`)).toEqual(JS_SHEBANG);
    expect(polyglot('#!/usr/bin/env sh', `":" //;exec nodejs "$0" "$@"\r`)).toEqual(JS_SHEBANG);
    expect(polyglot('#!/bin/sh', SIDEBUNDLE_SH_NODE_LINE)).toEqual(JS_SHEBANG);
    // A shell part that does more than start node keeps the file a shell script: run with node
    // directly, its settings, arguments or file would be lost.
    expect(polyglot('#!/bin/sh', `':' //; export NODE_PATH="$(dirname "$0")/lib"; exec node "$0" "$@"`)).toEqual({ interpreter: '/bin/sh' });
    expect(polyglot('#!/bin/sh', `':' //; exec node "$0" --experimental-foo "$@"`)).toEqual({ interpreter: '/bin/sh' });
    expect(polyglot('#!/bin/sh', `':' //; exec node "$0".mjs "$@"`)).toEqual({ interpreter: '/bin/sh' });
    expect(polyglot('#!/bin/sh', `':' // historically: exec node "$0" "$@"`)).toEqual({ interpreter: '/bin/sh' });
    // Other shell scripts, and a polyglot for another runtime, stay shell scripts.
    expect(polyglot('#!/bin/sh', `exec node "$0" "$@"`)).toEqual({ interpreter: '/bin/sh' });
    expect(polyglot('#!/bin/sh', `':' //; exec bun "$0" "$@"`)).toEqual({ interpreter: '/bin/sh' });
    expect(polyglot('#!/usr/bin/python3', `':' //; exec node "$0" "$@"`)).toEqual({ interpreter: '/usr/bin/python3' });
    expect(entryShebang(Buffer.from('console.log(1)\n'), '/app/main.js')).toEqual(JS_SHEBANG);
    expect(entryShebang(Buffer.from('echo\n'), '/app/run')).toBeUndefined();
  });

  test('env: the command, with -S splitting and assignments skipped', () => {
    expect(envCommand('python3')).toEqual({ name: 'python3', args: [] });
    expect(envCommand('-S python3 -u')).toEqual({ name: 'python3', args: ['-u'] });
    expect(envCommand('-S LC_ALL=C perl -w')).toEqual({ name: 'perl', args: ['-w'] });
    expect(envCommand('-i')).toBeUndefined();
  });
});

describe('the helper-command heuristic for shell scripts', () => {
  test('finds commands in command position across pipes, lists and substitutions', () => {
    const script = [
      '#!/bin/bash',
      'set -e',
      '# grep in a comment does not count',
      'LC_ALL=C sort -u "$1" | sed -e s/a/b/ | awk \'{print $1}\' > out.txt',
      'if grep -q x out.txt; then echo "found tr in a string"; fi',
      'n=$(wc -l < out.txt) && timeout 5 head -n 1 out.txt',
      'find . -name "*.c" | xargs -0 cut -c1-3',
      'my_func() { tail -n 2 "$@"; }',
      'my_func out.txt',
      'cat <<EOF',
      'rm -rf / (inside a here-document: data, not a command)',
      'EOF',
      'exec env LANG=C date',
    ].join('\n');
    expect(scanShellCommands(script)).toEqual(['sort', 'sed', 'awk', 'grep', 'wc', 'timeout', 'head', 'find', 'xargs', 'cut', 'tail', 'cat', 'env', 'date']);
  });

  test('substitutions inside double quotes, nested ones, and find -exec count; single quotes and arithmetic do not', () => {
    const script = [
      'here="$(dirname "$0")"',
      'echo "pre $(nproc) post `hostname`"',
      'x="$(basename "$(readlink -f "$0")")"',
      "echo '$(rev) is text'",
      'echo $((1 + 2))',
      'find . -type f -exec md5sum {} + -o -execdir sha1sum {} \\;',
    ].join('\n');
    expect(scanShellCommands(script).sort()).toEqual(['basename', 'dirname', 'find', 'hostname', 'md5sum', 'nproc', 'readlink', 'sha1sum']);
  });
});
