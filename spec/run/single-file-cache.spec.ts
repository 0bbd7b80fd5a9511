// Single-file bundles trust their extraction cache only when this user controls it: a copy
// another user planted is never run, unsafe candidates are passed over or refused with the
// reason, and the directories made are private (0700). Straight on the host, as root (handing
// directories to another uid needs chown), with exactly the environment each test gives.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { createBundle } from '../helpers/cli';
import { argvPrinter } from '../helpers/programs';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(300_000);

const OTHER = 12345;
const ENTRY = 'argv-printer';
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('the single-file cache', () => {
  const dir = tempDir('sb-single-cache-');
  let single: string;
  let digest: string;

  beforeAll(() => {
    const result = createBundle(['--name', 'printer', '--out-dir', path.join(dir, 'out'), '--emit-single-file', '--from-host', argvPrinter(dir)]);
    ({ path: single, digest } = result.singleFile as { path: string; digest: string });
  });

  /** The single file with `env` and PATH only: no HOME, no XDG_CACHE_HOME unless given. */
  function run(env: Record<string, string>) {
    const r = spawnSync(single, ['a b', 'c'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env }, cwd: '/' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** What the bundled argv-printer prints when it ran from the copy at `copy`. */
  const printed = (copy: string) => expect.stringMatching(new RegExp(`^\\[a b\\]\\n\\[c\\]\\ncwd=/\\nSIDEBUNDLE_ROOT=${copy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));

  let fresh = 0;
  function freshDir(): string {
    const at = path.join(dir, `t${fresh++}`);
    mkdirSync(at, { mode: 0o700 });
    return at;
  }

  /** A stamped copy of this bundle's digest under `cache` whose entry (through the runner's
   * spec and as a host-mode launcher) writes `canary`. */
  function plant(cache: string, canary: string): string {
    const copy = path.join(cache, digest);
    const evil = `#!/bin/sh\necho planted > ${canary}\n`;
    mkdirSync(path.join(copy, 'bin'), { recursive: true });
    mkdirSync(path.join(copy, 'runtime/entries'), { recursive: true });
    writeFileSync(path.join(copy, 'bin', ENTRY), evil, { mode: 0o755 });
    writeFileSync(path.join(copy, 'evil.sh'), evil, { mode: 0o755 });
    writeFileSync(path.join(copy, 'runtime/entries', `${ENTRY}.json`), JSON.stringify({ mode: 'host', host: [{ b: 'evil.sh' }, { b: 'evil.sh' }] }));
    writeFileSync(path.join(copy, '.sidebundle-extracted'), `${digest}\n`);
    return copy;
  }

  function chownTree(top: string, uid: number): void {
    lchownSync(top, uid, uid);
    const children = lstatSync(top).isDirectory() ? readdirSync(top) : [];
    for (const name of children) chownTree(path.join(top, name), uid);
  }

  test('a planted copy is a working attack: one this user owns is trusted by its stamp', () => {
    const tmp = freshDir();
    const canary = path.join(tmp, 'canary');
    plant(path.join(tmp, 'sidebundle-0/single'), canary);
    const r = run({ TMPDIR: tmp });
    expect(r.status).toBe(0);
    expect(existsSync(canary)).toBe(true);
  });

  test('$TMPDIR/sidebundle-UID made by another user: nothing runs, the owner is named, SIDEBUNDLE_CACHE_DIR suggested', () => {
    const tmp = freshDir();
    const canary = path.join(tmp, 'canary');
    plant(path.join(tmp, 'sidebundle-0/single'), canary);
    chownTree(path.join(tmp, 'sidebundle-0'), OTHER);
    const r = run({ TMPDIR: tmp });
    expect(existsSync(canary)).toBe(false);
    expect(r.status).toBe(126);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${tmp}/sidebundle-0 is owned by uid ${OTHER} (neither root nor you, uid 0)`);
    expect(r.stderr).toMatch(/nothing was run .*Set SIDEBUNDLE_CACHE_DIR to a directory of your own/);
  });

  test('a copy another user owns inside our own cache is extracted again, not run', () => {
    const tmp = freshDir();
    const canary = path.join(tmp, 'canary');
    const cache = path.join(tmp, 'sidebundle-0/single');
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    const copy = plant(cache, canary);
    chownTree(copy, OTHER);
    const r = run({ TMPDIR: tmp });
    expect(existsSync(canary)).toBe(false);
    expect(r).toEqual({ status: 0, stdout: printed(copy), stderr: '' });
    expect(lstatSync(copy).uid).toBe(0);
    expect(readdirSync(cache)).toEqual([digest]);
  });

  test('an explicit SIDEBUNDLE_CACHE_DIR others can write to, another user owns, or reached through their symlink is refused', () => {
    const tmp = freshDir();
    const open = path.join(tmp, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const theirs = path.join(tmp, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, OTHER, OTHER);
    const good = path.join(tmp, 'good');
    mkdirSync(good, { mode: 0o700 });
    const link = path.join(tmp, 'link');
    symlinkSync(good, link);
    const hop = path.join(tmp, 'hop');
    symlinkSync(good, hop);
    lchownSync(hop, OTHER, OTHER);
    const cases: Array<[string, string]> = [
      [open, `${open} can be written by other users (mode 777)`],
      [theirs, `${theirs} is owned by uid ${OTHER}, not by you (uid 0)`],
      [link, `${link} is a symbolic link (name the directory itself)`],
      [path.join(hop, 'cache'), `${hop} is a symbolic link owned by uid ${OTHER} (neither root nor you, uid 0)`],
    ];
    for (const [cache, why] of cases) {
      const r = run({ SIDEBUNDLE_CACHE_DIR: cache, TMPDIR: tmp });
      expect({ cache, status: r.status, stdout: r.stdout }).toEqual({ cache, status: 126, stdout: '' });
      expect(r.stderr).toContain(`cannot use SIDEBUNDLE_CACHE_DIR=${cache}: ${why}; nothing was run`);
    }
    expect([readdirSync(open), readdirSync(theirs), readdirSync(good)]).toEqual([[], [], []]);
    expect(existsSync(path.join(tmp, 'sidebundle-0'))).toBe(false);
  });

  test('an unsafe XDG_CACHE_HOME or ~/.cache is passed over for $TMPDIR, and nothing is made inside it', () => {
    const tmp = freshDir();
    const xdg = path.join(tmp, 'xdg');
    mkdirSync(xdg);
    chmodSync(xdg, 0o777);
    const home = path.join(tmp, 'home');
    const elsewhere = path.join(tmp, 'elsewhere');
    mkdirSync(path.join(home, '.cache/sidebundle'), { recursive: true });
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, path.join(home, '.cache/sidebundle/single'));
    const r = run({ XDG_CACHE_HOME: xdg, HOME: home, TMPDIR: tmp, SIDEBUNDLE_DEBUG: '1' });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: printed(path.join(tmp, 'sidebundle-0/single', digest)) });
    expect(r.stderr).toContain(`not extracting into ${xdg}/sidebundle/single: ${xdg} can be written by other users and is not sticky`);
    expect(r.stderr).toContain(`${home}/.cache/sidebundle/single is a symbolic link`);
    expect([readdirSync(xdg), readdirSync(elsewhere)]).toEqual([[], []]);
  });

  test('a temporary directory others can write to is used only when sticky', () => {
    const open = freshDir();
    chmodSync(open, 0o777);
    const refused = run({ TMPDIR: open });
    expect({ status: refused.status, stdout: refused.stdout }).toEqual({ status: 126, stdout: '' });
    expect(refused.stderr).toContain(`${open} can be written by other users and is not sticky (mode 777)`);
    expect(readdirSync(open)).toEqual([]);
    const sticky = freshDir();
    chmodSync(sticky, 0o1777);
    expect(run({ TMPDIR: sticky })).toEqual({ status: 0, stdout: printed(path.join(sticky, 'sidebundle-0/single', digest)), stderr: '' });
  });

  test('the directories it makes are private (0700), and the copy is reused', () => {
    const home = freshDir();
    const copy = path.join(home, '.cache/sidebundle/single', digest);
    expect(run({ HOME: home })).toEqual({ status: 0, stdout: printed(copy), stderr: '' });
    const modes = ['.cache', '.cache/sidebundle', '.cache/sidebundle/single', `.cache/sidebundle/single/${digest}`].map((p) => lstatSync(path.join(home, p)).mode & 0o7777);
    expect(modes).toEqual([0o700, 0o700, 0o700, 0o700]);
    const before = lstatSync(copy).ino;
    expect(run({ HOME: home })).toEqual({ status: 0, stdout: printed(copy), stderr: '' });
    expect(lstatSync(copy).ino).toBe(before);
    const tmp = freshDir();
    expect(run({ TMPDIR: tmp })).toEqual({ status: 0, stdout: printed(path.join(tmp, 'sidebundle-0/single', digest)), stderr: '' });
    expect([lstatSync(path.join(tmp, 'sidebundle-0')).mode & 0o7777, lstatSync(path.join(tmp, 'sidebundle-0/single')).mode & 0o7777]).toEqual([0o700, 0o700]);
  });

  test('another user whose HOME cannot hold a cache (HOME=/): the copy lands in $TMPDIR, and the next run starts from it warm', () => {
    // The file and the way to it readable by that user; a sticky temporary directory.
    const shared = freshDir();
    chmodSync(dir, 0o755);
    chmodSync(shared, 0o755);
    const file = path.join(shared, 'printer');
    copyFileSync(single, file);
    chmodSync(file, 0o755);
    const tmp = freshDir();
    chmodSync(tmp, 0o1777);
    const asOther = () => {
      const r = spawnSync('setpriv', [`--reuid=${OTHER}`, `--regid=${OTHER}`, '--clear-groups', file, 'a b', 'c'], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin', HOME: '/', TMPDIR: tmp, SIDEBUNDLE_DEBUG: 'timing' },
        cwd: '/',
      });
      return { status: r.status, stdout: r.stdout, runner: /copy the runner into (a memfd|an unlinked file)/.test(r.stderr), warm: /find its extraction in the cache/.test(r.stderr) };
    };
    const copy = path.join(tmp, `sidebundle-${OTHER}/single`, digest);
    expect(asOther()).toEqual({ status: 0, stdout: printed(copy), runner: true, warm: false });
    expect(lstatSync(copy).uid).toBe(OTHER);
    // The launcher passes over /.cache as the runner did (it cannot be made), not waiting for it.
    expect(asOther()).toEqual({ status: 0, stdout: printed(copy), runner: false, warm: true });
    expect(existsSync('/.cache/sidebundle')).toBe(false);
  });

  const memfdNoexec = existsSync('/proc/sys/vm/memfd_noexec') ? test : test.skip;
  memfdNoexec('where memfds may not run (vm.memfd_noexec=2): the runner starts from an unlinked file in $TMPDIR; where that is noexec too, nothing runs and both reasons are given', () => {
    // The sysctl is per PID namespace: set in a new one, it binds only the program started there.
    const tmp = freshDir();
    const cache = freshDir();
    const inNamespace = (script: string) => {
      const r = spawnSync('unshare', ['--pid', '--mount', '--fork', 'sh', '-c', `echo 2 > /proc/sys/vm/memfd_noexec && ${script}`, 'sh', single, 'a b', 'c'], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin', SIDEBUNDLE_CACHE_DIR: cache, TMPDIR: tmp, SIDEBUNDLE_DEBUG: 'timing' },
        cwd: '/',
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const started = inNamespace('"$@"');
    expect({ status: started.status, stdout: started.stdout }).toEqual({ status: 0, stdout: printed(path.join(cache, digest)) });
    expect(started.stderr).toContain('copy the runner into an unlinked file');
    expect(readdirSync(tmp)).toEqual([]);
    const refused = inNamespace(`mount -t tmpfs -o noexec none ${tmp} && rm -rf ${cache}/* && "$@"`);
    expect({ status: refused.status, stdout: refused.stdout }).toEqual({ status: 126, stdout: '' });
    expect(refused.stderr).toContain(`cannot start the runner of ${single}: from a memfd: Permission denied`);
    expect(refused.stderr).toContain(`from an unlinked file in ${tmp}: Permission denied`);
    expect(refused.stderr).toContain('nothing was run. Set TMPDIR to a directory of yours where programs may run');
  });
});
