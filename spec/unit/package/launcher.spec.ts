// Launchers: the runner's spec (runtime/entries/NAME.json) and the host-mode sh script. The
// script is run with /bin/sh against a stand-in loader that prints what it was given, so the
// quoting, the bundle lookup and the environment are checked as sh really reads them.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { LauncherPlan } from '../../../lib/model/plan';
import { launcherSpec, renderLauncher, shQuote } from '../../../lib/package/launcher';
import { tempDir } from '../../helpers/tmp';

const dynamic: LauncherPlan = {
  name: 'jq', path: 'bin/jq', kind: 'elf-dynamic', program: 'payload/usr/bin/jq', argv0: true, args: [], helpersOnPath: false,
  env: {}, hostEnv: {}, payload: 'payload', logicalProgram: '/usr/bin/jq',
  loader: 'payload/lib64/ld-linux-x86-64.so.2', libraryPath: ['payload/usr/lib/x86_64-linux-gnu', 'payload/lib'],
};
const script: LauncherPlan = {
  ...dynamic, name: 'tool', path: 'bin/tool', kind: 'script', program: 'payload/usr/bin/python3.11', logicalProgram: '/usr/bin/python3.11',
  args: [{ literal: '-u' }, { bundlePath: 'payload/opt/tool/main.py' }],
};

describe('launcherSpec', () => {
  test('a dynamic program: the loader with its library path and --argv0 in host mode, the program itself as root', () => {
    const spec = launcherSpec(dynamic, 'bwrap');
    expect(spec.host).toEqual([
      { b: 'payload/lib64/ld-linux-x86-64.so.2' }, { b: 'payload/lib64/ld-linux-x86-64.so.2' },
      { s: '--library-path' }, { paths: ['payload/usr/lib/x86_64-linux-gnu', 'payload/lib'] },
      { s: '--argv0' }, { argv0: true }, { b: 'payload/usr/bin/jq' },
    ]);
    expect(spec.root).toEqual([{ s: '/usr/bin/jq' }, { argv0: true }]);
    expect(spec).toMatchObject({ schema: 'sidebundle/launcher@1', name: 'jq', mode: 'bwrap', payload: 'payload' });
  });

  test('a loader too old for --argv0 gets none', () => {
    expect(launcherSpec({ ...dynamic, argv0: false }, 'host').host).not.toContainEqual({ s: '--argv0' });
  });

  test("a script: argv[0] is the interpreter's own path, its arguments logical paths when the payload is the root", () => {
    const spec = launcherSpec(script, 'chroot');
    expect(spec.root).toEqual([{ s: '/usr/bin/python3.11' }, { s: '/usr/bin/python3.11' }, { s: '-u' }, { s: '/opt/tool/main.py' }]);
    expect(spec.host.slice(4)).toEqual([{ s: '--argv0' }, { b: 'payload/usr/bin/python3.11' }, { b: 'payload/usr/bin/python3.11' }, { s: '-u' }, { b: 'payload/opt/tool/main.py' }]);
  });

  test('a static program runs without a loader', () => {
    const { loader: _l, libraryPath: _p, ...rest } = dynamic;
    expect(launcherSpec({ ...rest, kind: 'elf-static' }, 'host').host).toEqual([{ b: 'payload/usr/bin/jq' }, { argv0: true }]);
  });
});

describe('the host-mode sh launcher', () => {
  /** A bundle at `dir` whose "loader" prints its arguments and the variables asked for. */
  function bundle(dir: string, plan: LauncherPlan): string {
    const loader = path.join(dir, plan.loader!);
    mkdirSync(path.dirname(loader), { recursive: true });
    writeFileSync(loader, '#!/bin/sh\nfor a in "$@"; do printf "arg:%s\\n" "$a"; done\nprintf "env:%s=%s\\n" ROOT "$SIDEBUNDLE_ROOT" MODE "${MODE-}" PYTHONHOME "${PYTHONHOME-}" PATH1 "${PATH%%:*}"\n');
    chmodSync(loader, 0o755);
    const launcher = path.join(dir, plan.path);
    mkdirSync(path.dirname(launcher), { recursive: true });
    writeFileSync(launcher, renderLauncher(plan));
    chmodSync(launcher, 0o755);
    return launcher;
  }
  const run = (file: string, args: string[] = [], cwd = '/') => spawnSync(file, args, { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });

  test("finds its bundle through a symlink from any cwd, in a path with spaces and quotes, and passes the caller's arguments through", () => {
    const dir = path.join(tempDir('sb-launch-'), "my bundle's dir");
    const launcher = bundle(dir, script);
    const elsewhere = path.join(tempDir('sb-launch-link-'), 'tool-link');
    symlinkSync(launcher, elsewhere);
    const out = run(elsewhere, ['a b', '$HOME', "it's"]);
    expect(out.status).toBe(0);
    expect(out.stdout.split('\n').filter((l) => l.startsWith('arg:'))).toEqual([
      'arg:--library-path', `arg:${dir}/payload/usr/lib/x86_64-linux-gnu:${dir}/payload/lib`,
      'arg:--argv0', `arg:${dir}/payload/usr/bin/python3.11`, `arg:${dir}/payload/usr/bin/python3.11`,
      'arg:-u', `arg:${dir}/payload/opt/tool/main.py`, 'arg:a b', 'arg:$HOME', "arg:it's",
    ]);
    expect(out.stdout).toContain(`env:ROOT=${dir}\n`);
  });

  test('a program gets the name it was invoked by as argv[0]', () => {
    const dir = tempDir('sb-launch-');
    const launcher = bundle(dir, dynamic);
    symlinkSync('jq', path.join(dir, 'bin/jq-alias'));
    expect(run(path.join(dir, 'bin/jq-alias')).stdout).toContain('arg:--argv0\narg:jq-alias\n');
    expect(run('bin/jq', [], dir).stdout).toContain(`arg:${dir}/payload/usr/bin/jq\n`);
    expect(launcher).toBe(path.join(dir, 'bin/jq'));
  });

  test('--set-env values see the bundle root and win over the rule-derived variables; helpers go first on PATH', () => {
    const dir = tempDir('sb-launch-');
    const plan = { ...dynamic, env: { MODE: 'x y', PYTHONHOME: '${SIDEBUNDLE_ROOT}/custom' }, hostEnv: { PYTHONHOME: '${SIDEBUNDLE_ROOT}/payload/usr' }, helpersOnPath: true };
    const out = run(bundle(dir, plan)).stdout;
    expect(out).toContain('env:MODE=x y\n');
    expect(out).toContain(`env:PYTHONHOME=${dir}/custom\n`);
    expect(out).toContain(`env:PATH1=${dir}/bin\n`);
  });

  test('a bundle path with a colon is refused (the loader would split the library path there)', () => {
    const dir = path.join(tempDir('sb-launch-'), 'a:b');
    const out = run(bundle(dir, dynamic));
    expect(out.status).toBe(127);
    expect(out.stderr).toMatch(/contains a colon/);
  });
});

test.each(['plain', "it's", 'a b\tc', '$(id) `id` \\ "q"', ''])('shQuote(%j) reads back as itself in sh', (value) => {
  expect(spawnSync('/bin/sh', ['-c', `printf %s ${shQuote(value)}`], { encoding: 'utf8' }).stdout).toBe(value);
});
