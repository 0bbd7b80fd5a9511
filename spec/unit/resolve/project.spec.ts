// Projects: which directory an entry belongs to, and the closure moved to its place.
import * as path from 'node:path';

import type { ResolvedClosure } from '../../../lib/model/closure';
import { PROJECTS_AT, projectDirOf, projectsOf, relocatedCommand } from '../../../lib/resolve/project';
import { relocateClosure } from '../../../lib/resolve/relocate';

const markers = (...dirs: string[]) => (dir: string) => dirs.includes(dir);
const script = (target: string) => ({ kind: 'script' as const, target });
const elf = (target: string) => ({ kind: 'elf-dynamic' as const, target });

describe('projectDirOf', () => {
  test('the nearest directory above the script with a marker', () => {
    expect(projectDirOf(script('/root/w/proj/apps/app/tool.py'), markers('/root/w/proj', '/root/w/proj/apps/app'))).toBe('/root/w/proj/apps/app');
    expect(projectDirOf(script('/tmp/x/proj/bin/tool.py'), markers('/tmp/x/proj'))).toBe('/tmp/x/proj');
  });

  test("without a marker, the script's own directory; a marker in a home itself does not count", () => {
    expect(projectDirOf(script('/srv/tools/tool.py'), markers())).toBe('/srv/tools');
    expect(projectDirOf(script('/root/scripts/tool.py'), markers('/root'))).toBe('/root/scripts');
    expect(projectDirOf(script('/home/u/scripts/tool.py'), markers('/home/u'))).toBe('/home/u/scripts');
  });

  test('a script kept directly in /tmp, /root or a home directory has no project (the whole directory would lose the rules)', () => {
    for (const p of ['/tmp/t.py', '/var/tmp/t.py', '/root/t.py', '/home/u/t.py']) {
      expect(projectDirOf(script(p), markers())).toBeUndefined();
      expect(projectDirOf(script(p), markers(path.posix.dirname(p)))).toBeUndefined();
    }
    expect(projectDirOf(elf('/home/u/app'), markers())).toBeUndefined();
  });

  test("the system's programs have no project; programs only in a user's directory", () => {
    expect(projectDirOf(script('/usr/bin/pydoc3'), markers('/usr'))).toBeUndefined();
    expect(projectDirOf(elf('/opt/app/bin/app'), markers('/opt/app'))).toBeUndefined();
    expect(projectDirOf(elf('/home/u/src/app/build/app'), markers('/home/u/src/app'))).toBe('/home/u/src/app');
  });
});

describe('projectsOf', () => {
  test('a project inside another is part of it; equal names are told apart in entry order', () => {
    const projects = projectsOf(
      [script('/root/a/proj/sub/x.py'), script('/root/a/proj/tool.py'), script('/tmp/b/proj/y.py')],
      markers('/root/a/proj', '/root/a/proj/sub', '/tmp/b/proj'),
    );
    expect(projects).toEqual([
      { dir: '/root/a/proj', at: `${PROJECTS_AT}/proj` },
      { dir: '/tmp/b/proj', at: `${PROJECTS_AT}/proj-2` },
    ]);
  });
});

test('a project with a program entry stays in place (its libraries may sit outside it)', () => {
  expect(projectsOf([script('/tmp/w/app/run.py'), elf('/tmp/w/app/bin/app')], markers('/tmp/w/app'))).toEqual([{ dir: '/tmp/w/app', at: '/tmp/w/app' }]);
  expect(projectsOf([elf('/tmp/w/app/bin/app')], markers())).toEqual([{ dir: '/tmp/w/app/bin', at: '/tmp/w/app/bin' }]);
});

test('relocateClosure moves every path under a project, and nothing else', () => {
  const projects = [{ dir: '/root/a/proj', at: '/opt/sidebundle/proj' }];
  const closure: ResolvedClosure = {
    schema: 'sidebundle/closure@1',
    root: '/',
    entries: [{ name: 'tool', path: 'tool.py', target: '/root/a/proj/tool.py', kind: 'script', loader: '/usr/lib64/ld-linux-x86-64.so.2', script: { interpreter: '/usr/bin/python3.11', interpreterPath: '/usr/bin/python3', args: [] } }],
    files: [
      { path: '/usr/bin/python3.11', size: 1, mode: 0o755, sha256: 'a', kind: 'elf', reasons: [{ kind: 'script-interpreter', of: '/root/a/proj/tool.py' }] },
      { path: '/root/a/proj/tool.py', size: 1, mode: 0o755, sha256: 'b', kind: 'script', reasons: [{ kind: 'traced', entry: 'tool', command: '/usr/bin/python3 /root/a/proj/tool.py --x', op: 'open' }] },
    ],
    symlinks: [
      { path: '/root/a/proj/link', target: 'tool.py' },
      { path: '/root/a/proj/out', target: '../elsewhere' },
    ],
    missing: [],
    excluded: [{ path: '/root/a/proj/.env', reason: 'secret' }, { path: '/root/.netrc', reason: 'secret' }],
    diagnostics: [],
    dirs: ['/root/a/proj/pkg'],
  };
  const moved = relocateClosure(closure, projects);
  expect(moved.entries[0]!.target).toBe('/opt/sidebundle/proj/tool.py');
  expect(moved.files.map((f) => [f.path, f.from])).toEqual([['/opt/sidebundle/proj/tool.py', '/root/a/proj/tool.py'], ['/usr/bin/python3.11', undefined]]);
  expect(moved.files[0]!.reasons[0]).toMatchObject({ command: '/usr/bin/python3 /opt/sidebundle/proj/tool.py --x' });
  expect(moved.files[1]!.reasons[0]).toEqual({ kind: 'script-interpreter', of: '/opt/sidebundle/proj/tool.py' });
  expect(moved.symlinks).toEqual([{ path: '/opt/sidebundle/proj/link', target: 'tool.py' }, { path: '/opt/sidebundle/proj/out', target: '/root/a/elsewhere' }]);
  expect(moved.excluded.map((e) => e.path)).toEqual(['/opt/sidebundle/proj/.env', '/root/.netrc']);
  expect(moved.dirs).toEqual(['/opt/sidebundle/proj/pkg']);
  // Only `from` (where the packager reads the bytes) still names the checkout.
  expect(JSON.stringify({ ...moved, files: moved.files.map(({ from: _from, ...f }) => f) })).not.toMatch(/"\/root\/a\/proj/);
});

test('relocatedCommand rewrites only words that are paths in a project', () => {
  expect(relocatedCommand('python3 /root/a/proj/tool.py /root/a/projx', [{ dir: '/root/a/proj', at: '/opt/sidebundle/proj' }])).toBe('python3 /opt/sidebundle/proj/tool.py /root/a/projx');
});
