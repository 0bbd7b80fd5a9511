import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../../../lib/errors';
import { RootFs } from '../../../lib/resolve/rootfs';
import { tempDir } from '../../helpers/tmp';

describe('RootFs confines every lookup to its root', () => {
  const root = tempDir('sb-root-');
  mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  mkdirSync(path.join(root, 'etc'));
  writeFileSync(path.join(root, 'etc/hostname'), 'inside\n');
  writeFileSync(path.join(root, 'usr/lib/libreal.so.1.2'), 'x');
  symlinkSync('usr/lib', path.join(root, 'lib'));
  symlinkSync('libreal.so.1.2', path.join(root, 'usr/lib/libreal.so.1'));
  symlinkSync('/etc/hostname', path.join(root, 'usr/lib/abs-link'));
  symlinkSync('../../../../../../../etc/hostname', path.join(root, 'usr/lib/dotdot-link'));
  symlinkSync('/../../etc/shadow', path.join(root, 'usr/lib/shadow-link'));
  symlinkSync('loop-b', path.join(root, 'usr/lib/loop-a'));
  symlinkSync('loop-a', path.join(root, 'usr/lib/loop-b'));
  const fs = new RootFs(root);

  test('symlink chains are followed and every hop is recorded', () => {
    const walk = fs.resolve('/lib/libreal.so.1')!;
    expect(walk.path).toBe('/usr/lib/libreal.so.1.2');
    expect(walk.links).toEqual([
      { path: '/lib', target: 'usr/lib' },
      { path: '/usr/lib/libreal.so.1', target: 'libreal.so.1.2' },
    ]);
  });

  test('absolute symlinks restart at the root, not at the host /', () => {
    expect(fs.resolve('/usr/lib/abs-link')!.path).toBe('/etc/hostname');
    expect(fs.hostPath(fs.resolve('/usr/lib/abs-link')!.path)).toBe(path.join(root, 'etc/hostname'));
  });

  test('.. stops at the root', () => {
    expect(fs.resolve('/usr/lib/dotdot-link')!.path).toBe('/etc/hostname');
    expect(fs.resolve('/../../../etc/hostname')!.path).toBe('/etc/hostname');
    // /etc/shadow exists on the host but not in the root: it must not be found.
    expect(fs.resolve('/usr/lib/shadow-link')).toBeNull();
  });

  test('a symlink loop is a typed error naming the path', () => {
    expect(() => fs.resolve('/usr/lib/loop-a')).toThrow(SidebundleError);
    expect(() => fs.resolve('/usr/lib/loop-a')).toThrow(/loop-a/);
  });

  test('missing paths and files used as directories resolve to null', () => {
    expect(fs.resolve('/usr/lib/nothing')).toBeNull();
    expect(fs.resolve('/etc/hostname/sub')).toBeNull();
  });

  test('probes record what was looked at, including what was absent', () => {
    const probes = fs.probes();
    expect(probes.get('/usr/lib/nothing')).toEqual({ kind: 'absent' });
    expect(probes.get('/lib')).toEqual({ kind: 'link', target: 'usr/lib' });
    expect(probes.get('/usr/lib/libreal.so.1.2')).toEqual({ kind: 'file' });
  });
});
