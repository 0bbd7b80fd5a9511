// The collection families over small roots built by code: what each names, what it leaves out,
// and the budget. No ELF analysis here (the files are text); bundle.spec.ts runs real programs.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { dpkgIndex } from '../../lib/collect/dpkg';
import type { CollectInput } from '../../lib/collect/family';
import { classifyInc, incStrings, perlFamily } from '../../lib/collect/perl';
import { pluginDirsFamily } from '../../lib/collect/plugin-dirs';
import { csvFirst, pythonFamily } from '../../lib/collect/python';
import { RootFs } from '../../lib/resolve/rootfs';
import { tempDir } from '../helpers/tmp';

function rootWith(files: Record<string, string>, links: Record<string, string> = {}): string {
  const root = tempDir('sb-collect-');
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
  for (const [p, target] of Object.entries(links)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    symlinkSync(target, path.join(root, p));
  }
  return root;
}

function inputOf(root: string, files: Array<{ path: string; kind?: 'elf' | 'data' }>, extra: Partial<CollectInput> = {}): CollectInput {
  const fs = new RootFs(root);
  return {
    fs,
    files: files.map((f) => ({ path: f.path, kind: f.kind ?? 'data', reasons: [] })),
    excluded: [],
    entries: [],
    policy: 'smart',
    budgetBytes: 64 * 1024 * 1024,
    packages: dpkgIndex(fs),
    ...extra,
  };
}

const paths = (result: { additions: Array<{ path: string }> }) => result.additions.map((a) => a.path);

describe('python', () => {
  const root = rootWith({
    'usr/bin/python3.11': 'x',
    'usr/lib/python3.11/os.py': '',
    'usr/lib/python3.11/json/__init__.py': '',
    'usr/lib/python3.11/json/__pycache__/__init__.cpython-311.pyc': '',
    'usr/lib/python3.11/test/test_os.py': '',
    'usr/lib/python3.11/unittest/tests/test_case.py': '',
    'usr/lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11.a': '',
    'usr/lib/python3.11/ensurepip/__init__.py': '',
    'usr/lib/python3.11/ensurepip/_bundled/pip.whl': '',
    'usr/lib/python3.11/tkinter/__init__.py': '',
    'usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so': '',
    'usr/lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so': '',
    'usr/lib/python3/dist-packages/yaml/__init__.py': '',
    'usr/lib/python3/dist-packages/yaml/cyaml.py': '',
    'usr/lib/python3/dist-packages/_yaml/__init__.py': '',
    'usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD': 'yaml/__init__.py,sha256=x,1\nyaml/cyaml.py,,\n_yaml/__init__.py,,\nPyYAML-6.0.dist-info/RECORD,,\n',
    'usr/lib/python3/dist-packages/other/__init__.py': '',
    'usr/lib/python3/dist-packages/Other-1.dist-info/RECORD': 'other/__init__.py,,\n',
    'usr/lib/python3/dist-packages/six.py': '',
    'usr/lib/python3/dist-packages/six-1.16.0.egg-info/top_level.txt': 'six\n',
    'usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO': '',
  });

  test('an interpreter brings its standard library without tests, build files, wheels or caches', () => {
    const result = pythonFamily.detect(inputOf(root, [{ path: '/usr/bin/python3.11', kind: 'elf' }]));
    expect(paths(result)).toEqual([
      '/usr/lib/python3.11/ensurepip/__init__.py',
      '/usr/lib/python3.11/json/__init__.py',
      '/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so',
      '/usr/lib/python3.11/os.py',
    ]);
    expect(result.additions.every((a) => a.reason.what === 'python stdlib')).toBe(true);
    // An extension module may be dropped when its libraries are absent; a pure one may not.
    expect(result.additions.find((a) => a.path.endsWith('_ssl.cpython-311-x86_64-linux-gnu.so'))!.droppable).toMatch(/extension module/);
    expect(result.additions.find((a) => a.path.endsWith('os.py'))!.droppable).toBeUndefined();
    expect(result.diagnostics.map((d) => d.message).join('\n')).toMatch(/without test suites.*tkinter/);
  });

  test('a touched distribution comes whole (its RECORD), an untouched one not at all', () => {
    const result = pythonFamily.detect(inputOf(root, [{ path: '/usr/lib/python3/dist-packages/yaml/__init__.py' }]));
    expect(paths(result)).toEqual([
      '/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD',
      '/usr/lib/python3/dist-packages/_yaml/__init__.py',
      '/usr/lib/python3/dist-packages/yaml/__init__.py',
      '/usr/lib/python3/dist-packages/yaml/cyaml.py',
    ]);
    expect(new Set(result.additions.map((a) => a.reason.what))).toEqual(new Set(['python distribution PyYAML']));
  });

  test('an egg-info without a file list is found by its top_level.txt', () => {
    const result = pythonFamily.detect(inputOf(root, [{ path: '/usr/lib/python3/dist-packages/six.py' }]));
    expect(paths(result)).toEqual([
      '/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO',
      '/usr/lib/python3/dist-packages/six-1.16.0.egg-info/top_level.txt',
      '/usr/lib/python3/dist-packages/six.py',
    ]);
  });

  test('RECORD paths may be quoted CSV', () => {
    expect(csvFirst('"a,b/c.py",sha256=x,1')).toBe('a,b/c.py');
    expect(csvFirst('a/b.py,sha256=x,1')).toBe('a/b.py');
  });
});

describe('perl', () => {
  test('@INC is read from the binary, core and vendor told apart on Debian and Fedora', () => {
    const root = rootWith({ 'usr/bin/perl': '\0/etc/perl\0/usr/share/perl/5.36\0/usr/lib/x86_64-linux-gnu/perl-base\0/usr/lib/debug/perl\0hello\0' });
    expect(incStrings(new RootFs(root), '/usr/bin/perl').sort()).toEqual(['/etc/perl', '/usr/lib/x86_64-linux-gnu/perl-base', '/usr/share/perl/5.36']);
    expect(classifyInc(['/usr/share/perl/5.36', '/usr/lib/x86_64-linux-gnu/perl/5.36', '/usr/lib/x86_64-linux-gnu/perl-base', '/usr/share/perl5', '/usr/lib/x86_64-linux-gnu/perl5/5.36', '/usr/local/share/perl/5.36.0']))
      .toEqual({
        core: ['/usr/lib/x86_64-linux-gnu/perl-base', '/usr/lib/x86_64-linux-gnu/perl/5.36', '/usr/share/perl/5.36'],
        vendor: ['/usr/lib/x86_64-linux-gnu/perl5/5.36', '/usr/local/share/perl/5.36.0', '/usr/share/perl5'],
      });
    expect(classifyInc(['/usr/share/perl5', '/usr/lib64/perl5', '/usr/share/perl5/vendor_perl'])).toEqual({
      core: ['/usr/lib64/perl5', '/usr/share/perl5'],
      vendor: ['/usr/share/perl5/vendor_perl'],
    });
  });

  test('the core directories whole (through their links, without headers and pods); a traced vendor module with its .packlist', () => {
    const root = rootWith({
      'usr/bin/perl': '\0/usr/lib/x86_64-linux-gnu/perl/5.36\0/usr/local/lib/site_perl\0',
      'usr/lib/x86_64-linux-gnu/perl/5.36.0/POSIX.pm': '',
      'usr/lib/x86_64-linux-gnu/perl/5.36.0/POSIX.pod': '',
      'usr/lib/x86_64-linux-gnu/perl/5.36.0/CORE/perl.h': '',
      'usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/POSIX/POSIX.so': '',
      'usr/local/lib/site_perl/Foo/Bar.pm': '',
      'usr/local/lib/site_perl/Foo/Baz.pm': '',
      'usr/local/lib/site_perl/auto/Foo/Bar/.packlist': '/usr/local/lib/site_perl/Foo/Bar.pm\n/usr/local/lib/site_perl/Foo/Baz.pm type=file\n',
      'usr/local/lib/site_perl/Unrelated.pm': '',
    }, { 'usr/lib/x86_64-linux-gnu/perl/5.36': '5.36.0' });
    const result = perlFamily.detect(inputOf(root, [{ path: '/usr/bin/perl', kind: 'elf' }, { path: '/usr/local/lib/site_perl/Foo/Bar.pm' }]));
    expect(paths(result)).toEqual([
      '/usr/lib/x86_64-linux-gnu/perl/5.36/POSIX.pm',
      '/usr/lib/x86_64-linux-gnu/perl/5.36/auto/POSIX/POSIX.so',
      '/usr/local/lib/site_perl/Foo/Bar.pm',
      '/usr/local/lib/site_perl/Foo/Baz.pm',
      '/usr/local/lib/site_perl/auto/Foo/Bar/.packlist',
    ]);
    expect(result.additions.map((a) => a.reason.what)).toEqual(['perl core library', 'perl core library', 'perl distribution Foo::Bar', 'perl distribution Foo::Bar', 'perl distribution Foo::Bar']);
  });
});

describe('plugin directories', () => {
  const root = rootWith({
    'usr/lib/x86_64-linux-gnu/gconv/gconv-modules': 'module x',
    'usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d/gconv-modules-extra.conf': '',
    'usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so': 'x'.repeat(1000),
    'usr/lib/x86_64-linux-gnu/gconv/KOI8-R.so': 'x'.repeat(1000),
    'usr/lib/x86_64-linux-gnu/libc.so.6': '',
    'usr/lib/x86_64-linux-gnu/libnss_files.so.2': '',
    'usr/lib/x86_64-linux-gnu/libnss_compat.so.2': '',
    'usr/lib/x86_64-linux-gnu/libm.so.6': '',
    'usr/lib/x86_64-linux-gnu/gdk-pixbuf-2.0/2.10.0/loaders/libpixbufloader-png.so': '',
    'usr/lib/x86_64-linux-gnu/gdk-pixbuf-2.0/2.10.0/loaders.cache': '',
  });

  test('a loaded module brings its whole directory with its index files', () => {
    const result = pluginDirsFamily.detect(inputOf(root, [{ path: '/usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so', kind: 'elf' }]));
    expect(paths(result)).toEqual([
      '/usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so',
      '/usr/lib/x86_64-linux-gnu/gconv/KOI8-R.so',
      '/usr/lib/x86_64-linux-gnu/gconv/gconv-modules',
      '/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d/gconv-modules-extra.conf',
    ]);
    expect(result.additions[0]!.reason.what).toBe('plugin dir of /usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so');
  });

  test('NSS: only the libnss_* siblings, also when the run only read nsswitch.conf', () => {
    const viaModule = pluginDirsFamily.detect(inputOf(root, [{ path: '/usr/lib/x86_64-linux-gnu/libnss_files.so.2', kind: 'elf' }]));
    const viaConfig = pluginDirsFamily.detect(inputOf(root, [{ path: '/usr/lib/x86_64-linux-gnu/libc.so.6', kind: 'elf' }], { excluded: [{ path: '/etc/nsswitch.conf' }] }));
    const expected = ['/usr/lib/x86_64-linux-gnu/libnss_compat.so.2', '/usr/lib/x86_64-linux-gnu/libnss_files.so.2'];
    expect(paths(viaModule)).toEqual(expected);
    expect(paths(viaConfig)).toEqual(expected);
  });

  test('gdk-pixbuf loaders bring loaders.cache beside them', () => {
    const result = pluginDirsFamily.detect(inputOf(root, [{ path: '/usr/lib/x86_64-linux-gnu/gdk-pixbuf-2.0/2.10.0/loaders/libpixbufloader-png.so', kind: 'elf' }]));
    expect(paths(result)).toContain('/usr/lib/x86_64-linux-gnu/gdk-pixbuf-2.0/2.10.0/loaders.cache');
  });

  test('over the budget, smart ships nothing more and says how to raise it; full has no budget', () => {
    const files = [{ path: '/usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so', kind: 'elf' as const }];
    const smart = pluginDirsFamily.detect(inputOf(root, files, { budgetBytes: 1500 }));
    expect(smart.additions).toEqual([]);
    expect(smart.diagnostics).toEqual([expect.objectContaining({ level: 'warning', code: 'COLLECT_BUDGET', message: expect.stringMatching(/gconv .* over the 0\.0 MiB budget.*--collect-budget MIB, or --collect full/) })]);
    const full = pluginDirsFamily.detect(inputOf(root, files, { budgetBytes: 1500, policy: 'full' }));
    expect(full.additions.length).toBe(4);
  });

  test('a library outside any plugin directory brings nothing', () => {
    expect(pluginDirsFamily.detect(inputOf(root, [{ path: '/usr/lib/x86_64-linux-gnu/libm.so.6', kind: 'elf' }])).additions).toEqual([]);
  });
});
