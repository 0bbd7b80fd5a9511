// The trace policy: the user's own directories are exempt from the home and temporary rules,
// never from the secret ones.
import { exclusionOf, type TracePolicy } from '../../../lib/policy/policy';

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
