// Host-mode launchers: arguments, cwd, exit codes and the environment pass through untouched;
// the bundle is found through symlinks, from any cwd, in a path with spaces; the bundled
// library path never reaches programs the entry starts.
import { mkdirSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';

import { createBundle } from '../helpers/cli';
import { argvPrinter } from '../helpers/programs';
import { tempDir } from '../helpers/tmp';
import { runOnHost } from '../fixtures/run-in-root';

describe('host launchers', () => {
  const dir = tempDir('sb-launch-');
  const printer = argvPrinter(path.join(dir, 'src'));
  const out = path.join(dir, 'a dir with spaces');
  let launcher: string;
  let bundleDir: string;

  beforeAll(() => {
    const bundle = createBundle(['--name', 'printer', '--from-host', `${printer}::name=show`, '--out-dir', out,
      '--set-env', 'GREETING=hi from ${SIDEBUNDLE_ROOT} with $dollar and \'quote\'']);
    bundleDir = bundle.dir;
    launcher = path.join(bundleDir, 'bin/show');
  });

  const tricky = ['a b', "it's", '"double"', '*', '$HOME', 'line1\nline2', '', '-x', '--', 'back\\slash', '`id`'];

  test('arguments with spaces, quotes, globs, newlines and empty strings arrive untouched', () => {
    const result = runOnHost([launcher, ...tricky]);
    expect(result.status).toBe(0);
    expect(result.stdout.split('cwd=')[0]).toBe(tricky.map((a) => `[${a}]\n`).join(''));
  });

  test('the cwd is the caller\'s, and SIDEBUNDLE_ROOT is the bundle directory', () => {
    const cwd = tempDir('sb-cwd-');
    const result = runOnHost([launcher], { cwd });
    expect(result.stdout).toContain(`cwd=${cwd}\n`);
    expect(result.stdout).toContain(`SIDEBUNDLE_ROOT=${bundleDir}\n`);
  });

  test('--set-env values reach the program, with ${SIDEBUNDLE_ROOT} expanded and nothing else', () => {
    expect(runOnHost([launcher]).stdout).toContain(`GREETING=hi from ${bundleDir} with $dollar and 'quote'\n`);
  });

  test('works through a symlink (and a chain of them), from another directory, relatively', () => {
    const links = tempDir('sb-links-');
    symlinkSync(launcher, path.join(links, 'first'));
    symlinkSync('first', path.join(links, 'second'));
    for (const via of [path.join(links, 'first'), path.join(links, 'second')]) {
      const result = runOnHost([via, 'x']);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('[x]\n');
      expect(result.stdout).toContain(`SIDEBUNDLE_ROOT=${bundleDir}\n`);
    }
    const relative = runOnHost(['./bin/show', 'rel'], { cwd: bundleDir });
    expect(relative.stdout).toContain('[rel]\n');
    const viaPath = runOnHost(['show', 'onpath'], { env: { PATH: `${path.join(bundleDir, 'bin')}:/usr/bin:/bin` } });
    expect(viaPath.stdout).toContain('[onpath]\n');
  });

  test('the exit status passes through', () => {
    expect(runOnHost([launcher], { env: { EXIT_WITH: '7' } }).status).toBe(7);
  });

  test('programs the entry starts do not inherit the bundle\'s library path', () => {
    const child = runOnHost([launcher, '--exec', '/usr/bin/env']);
    expect(child.status).toBe(0);
    expect(child.stdout).not.toMatch(/^LD_LIBRARY_PATH=/m);
    const withUserPath = runOnHost([launcher, '--exec', '/usr/bin/env'], { env: { LD_LIBRARY_PATH: '/opt/mine' } });
    expect(withUserPath.stdout).toMatch(/^LD_LIBRARY_PATH=\/opt\/mine$/m);
  });

  test('a static entry runs directly', () => {
    const bundle = createBundle(['--name', 'bb', '--from-host', '/usr/bin/busybox', '--out-dir', path.join(dir, 'static')]);
    const result = runOnHost([path.join(bundle.dir, 'bin/busybox'), 'echo', 'static ok']);
    expect(result.stdout).toBe('static ok\n');
  });

  test('a bundle moved elsewhere still works (relocatable)', () => {
    const moved = path.join(dir, 'moved', 'deeper place');
    mkdirSync(path.dirname(moved), { recursive: true });
    runOnHost(['cp', '-a', bundleDir, moved]);
    const result = runOnHost([path.join(moved, 'bin/show'), 'm']);
    expect(result.stdout).toContain('[m]\n');
    expect(result.stdout).toContain(`SIDEBUNDLE_ROOT=${moved}\n`);
  });
});
