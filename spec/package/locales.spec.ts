// A bundled locale-archive's locales are written out as the directories `localedef --no-archive`
// makes (the same bytes), and a host-mode bundle reaches them through LOCPATH: on bullseye, whose
// root has no such locale, `LANG=de_DE.UTF-8 date` speaks German from the bundle. A damaged or
// hostile archive is a warning (glibc ignores it too), and its locales are not written out. Archives made by the test with this machine's localedef.
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { readLocaleArchive } from '../../lib/package/locales';
import { createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { bullseyeRootfs } from '../fixtures/rootfs';
import { runInRoot } from '../fixtures/run-in-root';

const dir = tempDir('sb-locales-');
const prefix = path.join(dir, 'made');
const archive = path.join(prefix, 'usr/lib/locale/locale-archive');
const reference = path.join(dir, 'reference');

beforeAll(() => {
  mkdirSync(path.dirname(archive), { recursive: true });
  for (const [input, name] of [['de_DE', 'de_DE.UTF-8'], ['fr_FR', 'fr_FR.UTF-8']]) {
    execFileSync('localedef', ['-i', input!, '-f', 'UTF-8', `--prefix=${prefix}`, name!]);
  }
  mkdirSync(reference, { recursive: true });
  execFileSync('localedef', ['--no-archive', '-i', 'de_DE', '-f', 'UTF-8', path.join(reference, 'de_DE.utf8')]);
}, 120_000);

function localesOf(file: string) {
  const fd = openSync(file, 'r');
  try {
    return readLocaleArchive(fd, statSync(file).size, file);
  } finally {
    closeSync(fd);
  }
}

test('the archive lists its locales, each with the twelve categories of its directory form', () => {
  const locales = localesOf(archive);
  expect(locales.map((l) => l.name)).toEqual(['de_DE.utf8', 'fr_FR.utf8']);
  expect(locales[0]!.files.map((f) => f.file)).toEqual([
    'LC_CTYPE', 'LC_NUMERIC', 'LC_TIME', 'LC_COLLATE', 'LC_MONETARY', 'LC_MESSAGES/SYS_LC_MESSAGES',
    'LC_PAPER', 'LC_NAME', 'LC_ADDRESS', 'LC_TELEPHONE', 'LC_MEASUREMENT', 'LC_IDENTIFICATION',
  ]);
});

test('host mode: the bundle\'s locales, written out of its archive, are what glibc reads, byte for byte localedef\'s', () => {
  // Debian's C.utf8 directory beside the archive: some of its files are byte for byte those of
  // the written-out locales, and the bundle links such copies to one another, as its manifest says.
  cpSync('/usr/lib/locale/C.utf8', path.join(path.dirname(archive), 'C.utf8'), { recursive: true });
  const out = path.join(dir, 'out');
  const bundle = createBundle(['--name', 'dated', '--from-host', '/usr/bin/date', '--copy-dir', `${path.dirname(archive)}:/usr/lib/locale`, '--run-mode', 'host', '--out-dir', out]);
  const written = path.join(bundle.dir, 'payload/usr/lib/locale/de_DE.utf8');
  for (const file of ['LC_TIME', 'LC_CTYPE', 'LC_COLLATE', 'LC_MESSAGES/SYS_LC_MESSAGES']) {
    expect({ file, same: readFileSync(path.join(written, file)).equals(readFileSync(path.join(reference, 'de_DE.utf8', file))) }).toEqual({ file, same: true });
  }
  expect(existsSync(path.join(bundle.dir, 'payload/usr/lib/locale/fr_FR.utf8/LC_TIME'))).toBe(true);
  // Shared data is stored once: fr_FR's LC_MEASUREMENT (metric, as de_DE's) is de_DE's file.
  expect(statSync(path.join(bundle.dir, 'payload/usr/lib/locale/fr_FR.utf8/LC_MEASUREMENT')).ino).toBe(statSync(path.join(written, 'LC_MEASUREMENT')).ino);
  const spec = JSON.parse(readFileSync(path.join(bundle.dir, 'runtime/entries/date.json'), 'utf8')) as { hostEnv: Record<string, string> };
  expect(spec.hostEnv.LOCPATH).toBe('${SIDEBUNDLE_ROOT}/payload/usr/lib/locale');
  expect(runCli(['verify', bundle.dir]).status).toBe(0);

  const root = bullseyeRootfs();
  expect(existsSync(path.join(root, 'usr/lib/locale/locale-archive'))).toBe(false); // the target has none
  const run = (lang: string) => runInRoot(root, ['/tmp/b/bin/date', '-u', '-d', '@0', '+%A %B'], { binds: { [bundle.dir]: '/tmp/b' }, env: { LANG: lang } });
  expect(run('de_DE.UTF-8')).toMatchObject({ status: 0, stdout: 'Donnerstag Januar\n' });
  expect(run('fr_FR.UTF-8')).toMatchObject({ status: 0, stdout: 'jeudi janvier\n' });
  expect(run('C')).toMatchObject({ status: 0, stdout: 'Thursday January\n' });
});

test('an archive glibc cannot read is a warning: its locales are not written out, the bundle is made', () => {
  const bytes = readFileSync(archive);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['truncated', bytes.subarray(0, 40), /lies past its end/],
    ['empty', Buffer.alloc(0), /lies past its end \(0 bytes\)/],
    ['not-an-archive', Buffer.concat([Buffer.from('not a locale archive, only text\n'), Buffer.alloc(64)]), /its magic number is/],
  ];
  // A locale named ../../x would be written outside its directory.
  const hostile = Buffer.from(bytes);
  hostile.write('../../evil\0', hostile.indexOf('de_DE.utf8\0', 0, 'latin1'), 'latin1');
  cases.push(['hostile', hostile, /a locale is named "\.\.\/\.\.\/evil", which is no directory name/]);
  // Two slots naming one locale.
  const twice = Buffer.from(bytes);
  twice.write('de_DE.utf8\0', twice.indexOf('fr_FR.utf8\0', 0, 'latin1'), 'latin1');
  cases.push(['twice', twice, /the locale de_DE\.utf8 is listed twice/]);
  for (const [name, content, message] of cases) {
    const tree = path.join(dir, `bad-${name}`);
    mkdirSync(tree, { recursive: true });
    writeFileSync(path.join(tree, 'locale-archive'), content);
    const out = path.join(dir, `bad-out-${name}`);
    const r = runCli(['create', '--name', 'x', '--from-host', '/usr/bin/date', '--copy-dir', `${tree}:/usr/lib/locale`, '--out-dir', out]);
    expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: expect.stringMatching(new RegExp(`warning: payload/usr/lib/locale/locale-archive is not a locale archive glibc can read: .*${message.source}.*; none of its locales is written out`)) });
    expect(readdirSync(path.join(out, 'x/payload/usr/lib/locale'))).toEqual(['locale-archive']);
  }
});

test('a locale deleted from the archive (localedef --delete-from-archive) is not written out', () => {
  const other = path.join(dir, 'deleted');
  mkdirSync(path.join(other, 'usr/lib/locale'), { recursive: true });
  for (const [input, locale] of [['de_DE', 'de_DE.UTF-8'], ['fr_FR', 'fr_FR.UTF-8']]) execFileSync('localedef', ['-i', input!, '-f', 'UTF-8', `--prefix=${other}`, locale!]);
  execFileSync('localedef', [`--prefix=${other}`, '--delete-from-archive', 'fr_FR.utf8']);
  expect(localesOf(path.join(other, 'usr/lib/locale/locale-archive')).map((l) => l.name)).toEqual(['de_DE.utf8']);
});
