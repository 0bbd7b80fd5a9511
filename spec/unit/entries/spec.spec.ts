// Entry specs: `PATH[::name=NAME][::trace=CMD]` and `[backend://]IMAGE::/abs/path[...]`, the
// original sidebundle's syntax, with errors that name the spec and say how to write it.
import { parseHostSpec, parseImageSpec, traceCommand } from '../../../lib/entries/spec';

const badSpec = (input: string, message: RegExp) => expect.objectContaining({ code: 'BAD_ENTRY_SPEC', kind: 'input', input, message: expect.stringMatching(message), hint: expect.any(String) });

describe('host entry specs', () => {
  test('a bare path is the whole spec: no name, no trace', () => {
    expect(parseHostSpec('/usr/bin/jq')).toEqual({ source: 'host', path: '/usr/bin/jq' });
  });

  test('name= and trace= in either order before trace, the command split by shell rules', () => {
    expect(parseHostSpec(`/usr/bin/python3::name=py::trace=python3 -c 'import ssl'`)).toEqual({
      source: 'host', path: '/usr/bin/python3', name: 'py', trace: ['python3', '-c', 'import ssl'],
    });
  });

  test('trace= takes the rest of the spec, so its command may contain ::', () => {
    expect(parseHostSpec('/usr/bin/perl::trace=perl -MFile::Spec -e 1').trace).toEqual(['perl', '-MFile::Spec', '-e', '1']);
    // name= after trace= is part of the command, not an option
    expect(parseHostSpec('/usr/bin/env::trace=env::name=x')).toEqual({ source: 'host', path: '/usr/bin/env', trace: ['env::name=x'] });
  });

  test('a trace command that starts with an option runs the entry itself; a jar runs through java -jar', () => {
    expect(parseHostSpec('/usr/bin/jq::trace=--version').trace).toEqual(['/usr/bin/jq', '--version']);
    expect(parseHostSpec('/opt/app/tool.JAR::trace=-h').trace).toEqual(['java', '-jar', '/opt/app/tool.JAR', '-h']);
  });

  test.each([
    ['::trace=jq', /names no program/],
    ['/usr/bin/jq::nmae=x', /unknown option "nmae=x"/],
    ['/usr/bin/jq::trace=   ', /empty trace command/],
  ])('%s is bad input', (spec, message) => {
    expect(() => parseHostSpec(spec)).toThrow(badSpec(spec, message));
  });

  test('a launcher name that could escape the bundle is refused', () => {
    expect(() => parseHostSpec('/usr/bin/jq::name=../jq')).toThrow(expect.objectContaining({ kind: 'input' }));
  });
});

describe('image entry specs', () => {
  test('the image reference and an absolute path inside it', () => {
    expect(parseImageSpec('docker://debian:12::/usr/bin/jq::name=jq')).toEqual({ source: 'image', image: 'docker://debian:12', path: '/usr/bin/jq', name: 'jq' });
    expect(parseImageSpec('oci:./img:1.0::/usr/bin/jq::trace=jq -n 1')).toEqual({ source: 'image', image: 'oci:./img:1.0', path: '/usr/bin/jq', trace: ['jq', '-n', '1'] });
  });

  test.each([
    ['debian:12', /needs IMAGE::\/absolute\/path/],
    ['debian:12::usr/bin/jq', /needs IMAGE::\/absolute\/path/],
    ['::/usr/bin/jq', /needs IMAGE::\/absolute\/path/],
  ])('%s is bad input', (spec, message) => {
    expect(() => parseImageSpec(spec)).toThrow(badSpec(spec, message));
  });

  test('a malformed image reference is refused while parsing the spec, not later', () => {
    expect(() => parseImageSpec('ftp://host/img::/usr/bin/jq')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE_REFERENCE', input: 'ftp://host/img' }));
  });
});

test('a jar\'s trace command that names a program is taken as written (java options of its own)', () => {
  expect(parseHostSpec('./app.jar::trace=java -Xmx64m -jar ./app.jar').trace).toEqual(['java', '-Xmx64m', '-jar', './app.jar']);
});

test('traceCommand names the input it was given in its error', () => {
  expect(() => traceCommand('', '/usr/bin/jq', 'entries[0].trace')).toThrow(badSpec('entries[0].trace', /empty trace command in "entries\[0\]\.trace"/));
});
