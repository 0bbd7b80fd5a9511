// The trace policy: the user's own directories are exempt from the home and temporary rules,
// never from the secret ones.
import { exclusionOf, tracePolicy, VCS_REASON, within, type TracePolicy } from '../../../lib/policy/policy';

const policy: TracePolicy = {
  include: ['/root/keep.ini'],
  extraExcluded: [{ dir: '/root', reason: "the user's home directory", personal: true, impact: 'lost' }],
  own: ['/root/src/proj', '/tmp/ci/proj'],
};

test("a project's files under a home or /tmp are shipped", () => {
  expect(exclusionOf('/root/src/proj/pkg/helper.py', policy)).toBeUndefined();
  expect(exclusionOf('/tmp/ci/proj/data/table.txt', policy)).toBeUndefined();
});

test('outside the project the home and temporary rules still apply, and their loss matters', () => {
  expect(exclusionOf('/root/src/other.ini', policy)).toEqual({ reason: "the user's home directory", impact: 'lost' });
  expect(exclusionOf('/tmp/ci/other', policy)).toMatchObject({ impact: 'lost', reason: expect.stringContaining('temporary') });
});

test('secrets and version control data stay out of a project', () => {
  for (const p of ['/root/src/proj/.env', '/root/src/proj/.env.production', '/tmp/ci/proj/keys/id_ed25519', '/root/src/proj/.git/config', '/root/src/proj/.ssh/config']) {
    expect({ p, impact: exclusionOf(p, policy)?.impact }).toEqual({ p, impact: 'secret' });
  }
  expect(exclusionOf('/root/src/proj/.env.example', policy)).toBeUndefined();
});

test("a project's bytecode caches are left out quietly; the system's are kept", () => {
  expect(exclusionOf('/root/src/proj/pkg/__pycache__/helper.cpython-311.pyc', policy)).toEqual({ reason: expect.stringContaining('bytecode'), quiet: true });
  expect(exclusionOf('/usr/lib/python3.11/__pycache__/os.cpython-311.pyc', policy)).toBeUndefined();
});

test('what the target provides is left out without a cost; --trace-include wins', () => {
  expect(exclusionOf('/proc/self/maps', policy)?.impact).toBeUndefined();
  expect(exclusionOf('/etc/localtime', policy)?.impact).toBeUndefined();
  expect(exclusionOf('/root/keep.ini', policy)).toBeUndefined();
});

describe('tracePolicy', () => {
  const built = tracePolicy({ exclude: ['/ws/dist/bundles'], home: '/home/dev', own: ['/home/dev/proj'], allowSecret: ['/srv/app/.env'], include: ['/home/dev/.config/tool'] });

  test('the output directory is left out even inside a project; the home only outside one', () => {
    expect(exclusionOf('/ws/dist/bundles/app/bin/app', built)?.reason).toBe('the bundle output directory');
    expect(exclusionOf('/home/dev/proj/out/x', tracePolicy({ exclude: ['/home/dev/proj/out'], own: ['/home/dev/proj'] }))?.reason).toBe('the bundle output directory');
    expect(exclusionOf('/home/dev/notes.txt', built)).toMatchObject({ impact: 'lost', reason: expect.stringContaining('home') });
    expect(exclusionOf('/home/dev/proj/main.py', built)).toBeUndefined();
  });

  test('a home of / excludes nothing by itself (root in a container often has HOME=/)', () => {
    expect(tracePolicy({ home: '/' }).extraExcluded).toEqual([]);
    expect(exclusionOf('/usr/bin/jq', tracePolicy({ home: '/' }))).toBeUndefined();
  });

  test('--allow-secret ships the named secret only; --trace-include does not ship secrets', () => {
    expect(exclusionOf('/srv/app/.env', built)).toBeUndefined();
    expect(exclusionOf('/srv/other/.env', built)?.impact).toBe('secret');
    expect(exclusionOf('/home/dev/.config/tool/settings.ini', built)).toBeUndefined();
    expect(exclusionOf('/home/dev/.config/tool/.git/config', built)?.impact).toBe('secret');
  });

  test('paths are judged after normalisation, so .. cannot step around a rule', () => {
    expect(exclusionOf('/srv/app/../app/.git/config', built)?.reason).toBe(VCS_REASON);
    expect(exclusionOf('/usr/../proc/self/environ', built)?.reason).toMatch(/kernel virtual filesystem/);
    expect(exclusionOf('/proc/../usr/lib/libz.so.1', built)).toBeUndefined();
  });
});

test('within matches a directory and what is below it, not a longer name beside it', () => {
  expect(within('/usr/lib', '/usr')).toBe(true);
  expect(within('/usr', '/usr')).toBe(true);
  expect(within('/usrx/lib', '/usr')).toBe(false);
  expect(within('/usr/lib', '/usr/')).toBe(true);
});
