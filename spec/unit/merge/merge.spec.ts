// Merging closures into one plan: a payload per root, launchers per entry, links kept inside
// their payload, and clear errors where two inputs disagree.
import { confinedTarget, mergeClosures } from '../../../lib/merge/merge';
import type { ClosureFile, ResolvedClosure, ResolvedEntry } from '../../../lib/model/closure';

const digest = (c: string) => c.repeat(64).slice(0, 64);

function file(path: string, content = 'a', extra: Partial<ClosureFile> = {}): ClosureFile {
  return { path, size: 1, mode: 0o644, sha256: digest(content), kind: 'data', reasons: [{ kind: 'entry', entry: path }], ...extra };
}
const elf = (path: string, content = 'e') => file(path, content, { mode: 0o755, kind: 'elf', elf: { needed: [], interpreter: '/lib64/ld-linux-x86-64.so.2', versionNeeds: [] } });

function entry(name: string, target: string, extra: Partial<ResolvedEntry> = {}): ResolvedEntry {
  return { name, path: target, target, kind: 'elf-dynamic', loader: '/lib64/ld-linux-x86-64.so.2', libraryPath: ['/usr/lib/x86_64-linux-gnu'], glibc: '2.36', ...extra };
}

function closure(root: string, entries: ResolvedEntry[], files: ClosureFile[], extra: Partial<ResolvedClosure> = {}): ResolvedClosure {
  return { schema: 'sidebundle/closure@1', root, entries, files, symlinks: [], missing: [], excluded: [], diagnostics: [], ...extra };
}

const loader = elf('/lib64/ld-linux-x86-64.so.2', 'l');

describe('mergeClosures', () => {
  test('each root gets its own payload; a path two roots hold differently is a conflict kept apart', () => {
    const plan = mergeClosures({
      name: 'tools',
      closures: [
        closure('/', [entry('jq', '/usr/bin/jq')], [elf('/usr/bin/jq'), loader, file('/usr/lib/x86_64-linux-gnu/libc.so.6', 'c')]),
        closure('/roots/bullseye', [entry('curl', '/usr/bin/curl', { glibc: '2.31' })], [elf('/usr/bin/curl', 'u'), loader, file('/usr/lib/x86_64-linux-gnu/libc.so.6', 'd')], { source: 'debian:11@sha256:x' }),
      ],
    });
    expect(plan.roots).toEqual([{ root: '/', payload: 'payload' }, { root: '/roots/bullseye', source: 'debian:11@sha256:x', payload: 'payload-2' }]);
    expect(plan.files.map((f) => [f.path, f.source])).toContainEqual(['payload-2/usr/bin/curl', '/roots/bullseye/usr/bin/curl']);
    expect(plan.conflicts.map((c) => [c.path, c.roots.map((r) => r.payload)])).toEqual([['/usr/lib/x86_64-linux-gnu/libc.so.6', ['payload', 'payload-2']]]);
    const [curl, jq] = plan.launchers;
    expect(jq).toMatchObject({ path: 'bin/jq', program: 'payload/usr/bin/jq', loader: 'payload/lib64/ld-linux-x86-64.so.2', libraryPath: ['payload/usr/lib/x86_64-linux-gnu'], argv0: true });
    // glibc 2.31's loader has no --argv0
    expect(curl).toMatchObject({ path: 'bin/curl', program: 'payload-2/usr/bin/curl', loader: 'payload-2/lib64/ld-linux-x86-64.so.2', argv0: false });
  });

  test('a file found twice in one root is stored once with the reasons of both', () => {
    const plan = mergeClosures({
      name: 'b',
      closures: [
        closure('/', [entry('jq', '/usr/bin/jq')], [elf('/usr/bin/jq'), file('/usr/lib/libz.so.1')]),
        closure('/', [entry('gzip', '/usr/bin/gzip')], [elf('/usr/bin/gzip', 'g'), file('/usr/lib/libz.so.1', 'a', { reasons: [{ kind: 'copy-dir', source: '/usr/lib' }] })]),
      ],
    });
    expect(plan.roots).toHaveLength(1);
    expect(plan.files.find((f) => f.path === 'payload/usr/lib/libz.so.1')!.reasons).toEqual([{ kind: 'entry', entry: '/usr/lib/libz.so.1' }, { kind: 'copy-dir', source: '/usr/lib' }]);
  });

  test('a script runs through its interpreter with the shebang argument, then the script', () => {
    const script = entry('tool', '/usr/local/bin/tool', { kind: 'script', script: { interpreter: '/usr/bin/python3.11', interpreterPath: '/usr/bin/python3', args: [{ literal: '-u' }] } });
    const plan = mergeClosures({ name: 'b', closures: [closure('/', [script], [file('/usr/local/bin/tool', 's'), elf('/usr/bin/python3.11'), file('/usr/lib/python3.11/os.py', 'o')])], setEnv: { MODE: 'prod' } });
    expect(plan.launchers[0]).toMatchObject({
      program: 'payload/usr/bin/python3.11',
      args: [{ literal: '-u' }, { bundlePath: 'payload/usr/local/bin/tool' }],
      logicalProgram: '/usr/bin/python3.11',
      env: { MODE: 'prod' },
      hostEnv: { PYTHONHOME: '${SIDEBUNDLE_ROOT}/payload/usr' },
    });
  });

  test("git's exec directory is mirrored: a launcher per program, a link for anything else", () => {
    const plan = mergeClosures({
      name: 'git',
      closures: [closure('/', [entry('git', '/usr/bin/git')], [elf('/usr/bin/git'), loader, elf('/usr/lib/git-core/git-remote-http', 'r'), file('/usr/lib/git-core/git-sh-setup', 's', { kind: 'script' })], {
        symlinks: [{ path: '/usr/lib/git-core/git-upload-pack', target: 'git-remote-http' }, { path: '/usr/lib/git-core/git-foo', target: '../../bin/git' }],
      })],
    });
    expect(plan.shims.map((s) => [s.path, s.program])).toEqual([['exec/payload/usr/lib/git-core/git-remote-http', 'payload/usr/lib/git-core/git-remote-http']]);
    expect(plan.symlinks).toContainEqual({ path: 'exec/payload/usr/lib/git-core/git-sh-setup', target: '../../../../../payload/usr/lib/git-core/git-sh-setup' });
    // A link to a sibling reaches the sibling's launcher (Debian's git-upload-pack -> git), not the bare program.
    expect(plan.symlinks).toContainEqual({ path: 'exec/payload/usr/lib/git-core/git-upload-pack', target: 'git-remote-http' });
    expect(plan.symlinks).toContainEqual({ path: 'exec/payload/usr/lib/git-core/git-foo', target: '../../../../../payload/usr/lib/git-core/git-foo' });
    expect(plan.launchers[0]!.hostEnv.GIT_EXEC_PATH).toBe('${SIDEBUNDLE_ROOT}/exec/payload/usr/lib/git-core');
  });

  test('symlinks are rewritten to stay inside their payload', () => {
    const plan = mergeClosures({
      name: 'b',
      closures: [closure('/', [entry('jq', '/usr/bin/jq')], [elf('/usr/bin/jq')], { symlinks: [{ path: '/usr/lib/libjq.so.1', target: '/usr/lib/libjq.so.1.0.4' }, { path: '/usr/lib/evil', target: '../../../../../etc/shadow' }] })],
    });
    expect(plan.symlinks).toEqual([{ path: 'payload/usr/lib/evil', target: '../../etc/shadow' }, { path: 'payload/usr/lib/libjq.so.1', target: 'libjq.so.1.0.4' }]);
    expect(confinedTarget('/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).toBe('../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    expect(confinedTarget('/a', '..')).toBe('.');
  });

  describe('disagreements are errors', () => {
    test('two entries of one name for different programs', () => {
      expect(() => mergeClosures({ name: 'b', closures: [closure('/', [entry('tool', '/usr/bin/jq')], [elf('/usr/bin/jq')]), closure('/r', [entry('tool', '/usr/bin/yq')], [elf('/usr/bin/yq')])] })).toThrow(
        expect.objectContaining({ code: 'ENTRY_NAME_CONFLICT', kind: 'input', input: '/usr/bin/yq', message: expect.stringContaining('/usr/bin/jq in /') }),
      );
      // the same program named twice in the same root is one launcher
      expect(mergeClosures({ name: 'b', closures: [closure('/', [entry('jq', '/usr/bin/jq'), entry('jq', '/usr/bin/jq')], [elf('/usr/bin/jq')])] }).launchers).toHaveLength(1);
    });

    test('one path of one root with two digests (it changed while planning)', () => {
      expect(() => mergeClosures({ name: 'b', closures: [closure('/', [], [file('/etc/x', 'a')]), closure('/', [], [file('/etc/x', 'b')])] })).toThrow(expect.objectContaining({ code: 'PLAN_CONFLICT', input: '/etc/x' }));
    });

    test('a path that is both a file and a symlink', () => {
      expect(() => mergeClosures({ name: 'b', closures: [closure('/', [], [file('/opt/share/x')], { symlinks: [{ path: '/opt/share/x', target: 'y' }] })] })).toThrow(expect.objectContaining({ code: 'PLAN_CONFLICT', input: 'payload/opt/share/x' }));
    });

    test('a file or symlink with something under it (a --copy-dir over a program\'s file), from one closure or two', () => {
      const copied = file('/usr/bin/jq/notes', 'n', { reasons: [{ kind: 'copy-dir', source: '/srv/notes' }] });
      expect(() => mergeClosures({ name: 'b', closures: [closure('/', [], [elf('/usr/bin/jq'), copied])] })).toThrow(
        expect.objectContaining({ code: 'PLAN_CONFLICT', kind: 'input', input: 'payload/usr/bin/jq', message: 'payload/usr/bin/jq is a file of the bundle, and also a directory: payload/usr/bin/jq/notes (copied from /srv/notes by --copy-dir) is under it' }),
      );
      expect(() => mergeClosures({ name: 'b', closures: [closure('/', [], [elf('/usr/bin/jq')]), closure('/', [], [], { dirs: ['/usr/bin/jq/empty'] })] })).toThrow(expect.objectContaining({ code: 'PLAN_CONFLICT', input: 'payload/usr/bin/jq' }));
      expect(() => mergeClosures({ name: 'b', closures: [closure('/', [], [file('/opt/a/b')], { symlinks: [{ path: '/opt/a', target: 'c' }] })] })).toThrow(expect.objectContaining({ code: 'PLAN_CONFLICT', message: expect.stringMatching(/^payload\/opt\/a is a symlink of the bundle/) }));
    });

    test('a bundle name or --set-env name that cannot be used', () => {
      expect(() => mergeClosures({ name: '../up', closures: [] })).toThrow(expect.objectContaining({ kind: 'input' }));
      expect(() => mergeClosures({ name: 'b', closures: [], setEnv: { 'A=B': '1' } })).toThrow(expect.objectContaining({ kind: 'input' }));
    });
  });
});
