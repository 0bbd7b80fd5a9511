// Where files go on disk (layout.ts) and which Python sources get byte code (bytecode.ts): pure
// functions over plan data, no file system.
import { interpretersOf, isHostPyc, pycPath, sourcesFor } from '../../../lib/package/bytecode';
import { bundleEpoch, DEFAULT_EPOCH, placeFiles } from '../../../lib/package/layout';
import type { LauncherPlan, PlanFile } from '../../../lib/model/plan';

const file = (p: string, sha: string, mode = 0o644, extra: Partial<PlanFile> = {}): PlanFile =>
  ({ path: p, source: `/src/${p}`, sha256: sha.repeat(64), size: 1, mode, kind: 'data', reasons: [], ...extra });

describe('placeFiles', () => {
  test('the first path of a content is stored; a non-executable duplicate is a relative symlink to it', () => {
    const placed = placeFiles([file('payload/b/licence', 'a'), file('payload/a/x/licence', 'a')]);
    expect(placed.get('payload/a/x/licence')).toEqual({ kind: 'stored' });
    expect(placed.get('payload/b/licence')).toEqual({ kind: 'symlink', of: 'payload/a/x/licence', target: '../a/x/licence' });
  });

  test('an executable duplicate stays a hard link (a program keeps its own path)', () => {
    const placed = placeFiles([file('payload/usr/bin/perl', 'b', 0o755), file('payload/usr/bin/perl5.36', 'b', 0o755)]);
    expect(placed.get('payload/usr/bin/perl5.36')).toEqual({ kind: 'hardlink', of: 'payload/usr/bin/perl' });
  });

  test('a duplicate in another payload is a hard link: a symlink would leave its root', () => {
    const placed = placeFiles([file('payload/etc/x', 'c'), file('payload-2/etc/x', 'c')]);
    // 'payload-2/' sorts before 'payload/': that one is stored.
    expect(placed.get('payload/etc/x')).toEqual({ kind: 'hardlink', of: 'payload-2/etc/x' });
  });

  test('the same bytes with another mode are stored again', () => {
    const placed = placeFiles([file('payload/a', 'd', 0o600), file('payload/b', 'd', 0o644)]);
    expect([placed.get('payload/a'), placed.get('payload/b')]).toEqual([{ kind: 'stored' }, { kind: 'stored' }]);
  });
});

test('bundleEpoch: SOURCE_DATE_EPOCH, else 2000-01-01, never the clock', () => {
  expect(bundleEpoch({ SOURCE_DATE_EPOCH: '1700000000' })).toBe(1_700_000_000);
  expect(bundleEpoch({})).toBe(DEFAULT_EPOCH);
  expect(new Date(DEFAULT_EPOCH * 1000).toISOString()).toBe('2000-01-01T00:00:00.000Z');
  expect(bundleEpoch({ SOURCE_DATE_EPOCH: 'soon' })).toBe(DEFAULT_EPOCH);
});

describe('byte code', () => {
  const launcher = { name: 'python3', payload: 'payload', program: 'payload/usr/bin/python3.11', loader: 'payload/lib64/ld-linux-x86-64.so.2', libraryPath: ['payload/usr/lib'] } as LauncherPlan;
  const python = file('payload/usr/bin/python3.11', 'e', 0o755, { kind: 'elf', interpreter: '/lib64/ld-linux-x86-64.so.2' });
  const plan = {
    files: [
      python,
      file('payload/usr/lib/python3.11/json/__init__.py', '1'),
      file('payload/usr/lib/python3.11/json/__pycache__/__init__.cpython-311.pyc', '2'),
      file('payload/usr/lib/python3.9/os.py', '3'),
      file('payload/usr/lib/python3/dist-packages/yaml/__init__.py', '4'),
      file('payload/etc/python3.11/sitecustomize.py', '5'),
      file('payload/usr/bin/python3.9', '6', 0o755, { kind: 'elf', interpreter: '/lib64/ld-linux-x86-64.so.2' }),
    ],
    symlinks: [{ path: 'payload/usr/lib/python3.11/sitecustomize.py', target: '../../../etc/python3.11/sitecustomize.py' }],
    launchers: [launcher],
  };

  test('each pythonX.Y binary is an interpreter, run with its launcher\'s loader and library path', () => {
    const found = interpretersOf(plan);
    expect(found.map((i) => [i.version, i.prefix, i.loader, i.libraryPath])).toEqual([
      ['3.11', '/usr', launcher.loader, launcher.libraryPath],
      ['3.9', '/usr', launcher.loader, launcher.libraryPath],
    ]);
  });

  test('a version compiles its own library, shared directories and symlinked sources, never another version\'s', () => {
    const all = interpretersOf(plan);
    expect(sourcesFor(plan, all[0]!, all).map((s) => s.path)).toEqual([
      'payload/etc/python3.11/sitecustomize.py',
      'payload/usr/lib/python3.11/json/__init__.py',
      'payload/usr/lib/python3.11/sitecustomize.py',
      'payload/usr/lib/python3/dist-packages/yaml/__init__.py',
    ]);
    expect(sourcesFor(plan, all[0]!, all).find((s) => s.path.endsWith('3.11/sitecustomize.py'))!.sha256).toBe('5'.repeat(64));
  });

  test('the byte code path is PEP 3147\'s, and the host\'s own .pyc of that version is recognised', () => {
    const [py311] = interpretersOf(plan);
    expect(pycPath('payload/usr/lib/python3.11/json/__init__.py', '3.11')).toBe('payload/usr/lib/python3.11/json/__pycache__/__init__.cpython-311.pyc');
    expect(isHostPyc('payload/usr/lib/python3.11/json/__pycache__/__init__.cpython-311.pyc', py311!)).toBe(true);
    expect(isHostPyc('payload/usr/lib/python3.11/json/__pycache__/__init__.cpython-311.opt-1.pyc', py311!)).toBe(true);
    expect(isHostPyc('payload/usr/lib/python3.9/__pycache__/os.cpython-39.pyc', py311!)).toBe(false);
    expect(isHostPyc('payload/opt/app/legacy.pyc', py311!)).toBe(false);
  });
});
