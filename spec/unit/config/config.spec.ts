// sidebundle.json as every front end reads it: entries in the engine's form (paths relative to
// the file), copyDirs, and errors that name the file and the field. The per-option type checks
// are in options.spec.ts.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { closest, copyDirsOf, entriesOf, parseCopyDirSpec, readConfigFile, validateConfig } from '../../../lib/config/config';
import { tempDir } from '../../helpers/tmp';

const bad = (code: string, message: RegExp, extra: object = {}) => expect.objectContaining({ code, kind: 'input', message: expect.stringMatching(message), ...extra });

describe('entriesOf', () => {
  test('a relative host path is relative to the config file; a bare name stays for PATH lookup', () => {
    const entries = entriesOf({ entries: ['./tools/run.py::trace=--selftest', 'jq', '/usr/bin/curl'] }, '/ws/apps/tool', 'f');
    expect(entries).toEqual([
      { source: 'host', path: '/ws/apps/tool/tools/run.py', trace: ['./tools/run.py', '--selftest'] },
      { source: 'host', path: 'jq' },
      { source: 'host', path: '/usr/bin/curl' },
    ]);
  });

  test('entry objects: a trace as a line is split by shell rules, as an array taken word for word', () => {
    const entries = entriesOf({ entries: [{ host: '/usr/bin/python3', name: 'py', trace: `python3 -c 'import ssl'` }, { host: '/usr/bin/jq', trace: ['jq', '-n', "'1'"] }] }, '/ws', 'f');
    expect(entries[0]).toEqual({ source: 'host', path: '/usr/bin/python3', name: 'py', trace: ['python3', '-c', 'import ssl'] });
    expect(entries[1]!.trace).toEqual(['jq', '-n', "'1'"]);
  });

  test('an image layout or archive path is relative to the config file; an engine image is left alone', () => {
    const entries = entriesOf({ entries: [{ image: 'oci:./img:1.0', path: '/usr/bin/jq' }, { image: 'docker-archive:../saved.tar', path: '/bin/sh' }, { image: 'debian:12', path: '/bin/ls' }] }, '/ws/apps/tool', 'f');
    expect(entries.map((e) => e.source === 'image' && e.image)).toEqual(['oci:/ws/apps/tool/img:1.0', 'docker-archive:/ws/apps/saved.tar', 'debian:12']);
  });

  test.each([
    [{ entries: [] }, 'CONFIG_NO_ENTRIES', /"entries" must list at least one program/],
    [{ entries: [42] }, 'CONFIG_BAD_ENTRY', /entries\[0\] is not a program spec/],
    [{ entries: [{ image: 'debian:12' }] }, 'CONFIG_BAD_ENTRY', /entries\[0\] is not a program spec/],
    [{ entries: ['/usr/bin/jq', { host: '/usr/bin/jq', name: 7 }] }, 'CONFIG_BAD_ENTRY', /entries\[1\]\.name is not a string/],
    [{ entries: [{ host: '/usr/bin/jq', trace: [] }] }, 'CONFIG_BAD_ENTRY', /entries\[0\]\.trace must be a command line or a non-empty array/],
    [{ entries: [{ image: 'debian:12', path: '/bin/ls', host: '/x' }] }, 'CONFIG_BAD_ENTRY', /entries\[0\] has an unknown key/],
  ])('%j is bad input naming the file and the entry', (config, code, message) => {
    expect(() => entriesOf(config as never, '/ws', 'apps/tool/sidebundle.json')).toThrow(bad(code, new RegExp(`^apps/tool/sidebundle\\.json: ${message.source}`)));
  });
});

describe('validateConfig', () => {
  test.each([
    [[], /is not a JSON object/],
    [{ entries: ['/usr/bin/jq'] }, /"name" \(the bundle name\) is required/],
    [{ name: '', entries: ['/usr/bin/jq'] }, /"name" \(the bundle name\) is required/],
  ])('%j is CONFIG_INVALID', (config, message) => {
    expect(() => validateConfig(config as never, 'f')).toThrow(bad('CONFIG_INVALID', message));
  });

  test('the entries are checked too, with the entry syntax errors', () => {
    expect(() => validateConfig({ name: 't', entries: ['/usr/bin/jq::nmae=x'] }, 'f')).toThrow(bad('BAD_ENTRY_SPEC', /unknown option "nmae=x"/));
  });

  test('a --set-env name that is not a variable name is refused', () => {
    expect(() => validateConfig({ name: 't', entries: ['/usr/bin/jq'], setEnv: { 'A B': '1' } }, 'f')).toThrow(expect.objectContaining({ kind: 'input' }));
    expect(() => validateConfig({ name: 't', entries: ['/usr/bin/jq'], setEnv: { A: 1 } } as never, 'f')).toThrow(bad('CONFIG_INVALID', /setEnv\.A is not a string/));
  });
});

describe('readConfigFile', () => {
  const dir = tempDir('sb-config-');

  test('reads and validates a file', () => {
    const file = path.join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify({ name: 'jq', entries: ['/usr/bin/jq'], collect: 'full' }));
    expect(readConfigFile(file)).toEqual({ name: 'jq', entries: ['/usr/bin/jq'], collect: 'full' });
  });

  test('a missing file and broken JSON are bad input naming the file', () => {
    expect(() => readConfigFile(path.join(dir, 'absent.json'))).toThrow(bad('CONFIG_NOT_FOUND', /cannot read .*absent\.json/, { input: path.join(dir, 'absent.json') }));
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"name": "jq",');
    expect(() => readConfigFile(broken)).toThrow(bad('CONFIG_INVALID', /broken\.json is not valid JSON/, { input: broken }));
  });

  test('an invalid file names itself in the error', () => {
    const file = path.join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ name: 'jq', entries: ['/usr/bin/jq'], tracTimeout: 5 }));
    expect(() => readConfigFile(file)).toThrow(bad('CONFIG_INVALID', new RegExp(`${file}: unknown option "tracTimeout" \\(did you mean traceTimeout\\?\\)`)));
  });
});

test('copyDirs: SRC[:DEST] with an absolute DEST, sources relative to the config file', () => {
  expect(parseCopyDirSpec('./share:/opt/app/share')).toEqual({ source: './share', dest: '/opt/app/share' });
  expect(parseCopyDirSpec('./a:b')).toEqual({ source: './a:b' }); // a relative "DEST" is part of the name
  expect(copyDirsOf({ copyDirs: ['./share:/opt/share', { source: '../data' }] }, '/ws/app')).toEqual([{ source: '/ws/app/share', dest: '/opt/share' }, { source: '/ws/data' }]);
});

test('closest suggests a known name within a third of its length, case aside', () => {
  expect(closest('tracetimeout', ['traceTimeout', 'collect'])).toBe('traceTimeout');
  expect(closest('colect', ['traceTimeout', 'collect'])).toBe('collect');
  expect(closest('zzzqqq', ['traceTimeout', 'collect'])).toBeUndefined();
});
