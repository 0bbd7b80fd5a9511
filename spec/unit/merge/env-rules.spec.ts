// The environment a host-mode launcher sets: each rule fires only when the files it points at
// are in the launcher's payload, and only for the program it concerns.
import { environmentFor, execMirror } from '../../../lib/merge/env-rules';
import type { LauncherPlan } from '../../../lib/model/plan';

const ROOT = '${SIDEBUNDLE_ROOT}';

function launcher(logicalProgram: string, payload = 'payload'): LauncherPlan {
  const name = logicalProgram.split('/').pop()!;
  return { name, path: `bin/${name}`, kind: 'elf-dynamic', program: `${payload}${logicalProgram}`, argv0: true, args: [], helpersOnPath: false, env: {}, hostEnv: {}, payload, logicalProgram };
}

describe('environmentFor', () => {
  test('PYTHONHOME for pythonX.Y when its own os.py is bundled, in the launcher payload', () => {
    const files = new Set(['/usr/bin/python3.11', '/usr/lib/python3.11/os.py']);
    expect(environmentFor(launcher('/usr/bin/python3.11', 'payload-2'), files).env).toEqual({ PYTHONHOME: `${ROOT}/payload-2/usr` });
    // another version's standard library is not this interpreter's home
    expect(environmentFor(launcher('/usr/bin/python3.9'), files).env).toEqual({});
    // and a program that is not Python gets no PYTHONHOME however much Python is bundled
    expect(environmentFor(launcher('/usr/bin/jq'), files).env).toEqual({});
  });

  test("PERL5LIB lists the bundled @INC directories in perl's own order", () => {
    const files = new Set([
      '/usr/share/perl5/Foo.pm',
      '/usr/lib/x86_64-linux-gnu/perl-base/strict.pm',
      '/usr/lib/x86_64-linux-gnu/perl/5.36/Cwd.pm',
      '/usr/share/perl/5.36/File/Spec.pm',
      '/etc/perl/Net/libnet.cfg', // not a module: does not make /etc/perl an @INC entry
    ]);
    expect(environmentFor(launcher('/usr/bin/perl'), files).env.PERL5LIB).toBe(
      ['/usr/lib/x86_64-linux-gnu/perl/5.36', '/usr/share/perl/5.36', '/usr/share/perl5', '/usr/lib/x86_64-linux-gnu/perl-base'].map((d) => `${ROOT}/payload${d}`).join(':'),
    );
  });

  test('git gets GIT_EXEC_PATH on a mirror of launchers, and its templates', () => {
    const files = new Set(['/usr/lib/git-core/git-remote-http', '/usr/share/git-core/templates/description']);
    const rules = environmentFor(launcher('/usr/bin/git'), files);
    expect(rules.env).toEqual({ GIT_EXEC_PATH: `${ROOT}/exec/payload/usr/lib/git-core`, GIT_TEMPLATE_DIR: `${ROOT}/payload/usr/share/git-core/templates` });
    expect(rules.execDirs).toEqual([{ variable: 'GIT_EXEC_PATH', dir: '/usr/lib/git-core' }]);
    expect(execMirror('payload', '/usr/lib/git-core')).toBe('exec/payload/usr/lib/git-core');
    expect(environmentFor(launcher('/usr/bin/gitk'), files).execDirs).toEqual([]);
  });

  test('JAVA_HOME when the program sits in bin/ of a bundled JVM home', () => {
    const files = new Set(['/usr/lib/jvm/java-17/bin/java', '/usr/lib/jvm/java-17/lib/modules']);
    expect(environmentFor(launcher('/usr/lib/jvm/java-17/bin/java'), files).env).toEqual({ JAVA_HOME: `${ROOT}/payload/usr/lib/jvm/java-17` });
    // The payload-as-root modes get it at its path there (a host's JAVA_HOME must not reach them).
    expect(environmentFor(launcher('/usr/lib/jvm/java-17/bin/java'), files).rootEnv).toEqual({ JAVA_HOME: '/usr/lib/jvm/java-17' });
    expect(environmentFor(launcher('/usr/lib/jvm/java-17/bin/java'), new Set(['/usr/lib/jvm/java-17/bin/java'])).env).toEqual({});
  });

  test('data any program may read: locales, gconv modules, terminfo (all directories, sorted), magic', () => {
    const files = new Set([
      '/usr/lib/locale/C.utf8/LC_CTYPE',
      '/usr/lib/x86_64-linux-gnu/gconv/gconv-modules',
      '/usr/share/terminfo/x/xterm',
      '/lib/terminfo/d/dumb',
      '/usr/lib/file/magic.mgc',
    ]);
    expect(environmentFor(launcher('/usr/bin/jq'), files).env).toEqual({
      LOCPATH: `${ROOT}/payload/usr/lib/locale`,
      GCONV_PATH: `${ROOT}/payload/usr/lib/x86_64-linux-gnu/gconv`,
      TERMINFO_DIRS: `${ROOT}/payload/lib/terminfo:${ROOT}/payload/usr/share/terminfo`,
      MAGIC: `${ROOT}/payload/usr/lib/file/magic.mgc`,
    });
  });

  test('a bundled locale-archive sets LOCPATH (the package step writes its locales out as directories there); Python time zones, OpenSSL providers and engines', () => {
    const files = new Set([
      '/usr/lib/locale/C.utf8/LC_CTYPE',
      '/usr/lib/locale/locale-archive',
      '/usr/share/zoneinfo/Europe/Paris',
      '/usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so',
      '/usr/lib/x86_64-linux-gnu/engines-3/afalg.so',
    ]);
    expect(environmentFor(launcher('/usr/bin/date'), files).env).toEqual({
      LOCPATH: `${ROOT}/payload/usr/lib/locale`,
      OPENSSL_MODULES: `${ROOT}/payload/usr/lib/x86_64-linux-gnu/ossl-modules`,
      OPENSSL_ENGINES: `${ROOT}/payload/usr/lib/x86_64-linux-gnu/engines-3`,
    });
    expect(environmentFor(launcher('/usr/bin/date'), new Set(['/usr/lib/locale/locale-archive'])).env).toEqual({ LOCPATH: `${ROOT}/payload/usr/lib/locale` });
    // Python's zones: the target's first (a traced few are bundled), then the bundled as a fallback.
    expect(environmentFor(launcher('/usr/bin/python3.11'), new Set(['/usr/share/zoneinfo/UTC'])).env).toEqual({
      PYTHONTZPATH: `/usr/share/zoneinfo:/usr/lib/zoneinfo:/usr/share/lib/zoneinfo:/etc/zoneinfo:${ROOT}/payload/usr/share/zoneinfo`,
    });
  });

  test('nothing bundled, nothing set', () => {
    expect(environmentFor(launcher('/usr/bin/jq'), new Set(['/usr/bin/jq', '/usr/lib/x86_64-linux-gnu/libjq.so.1']))).toEqual({ env: {}, rootEnv: {}, execDirs: [] });
  });
});
