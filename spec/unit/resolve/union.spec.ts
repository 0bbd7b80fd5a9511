// Several closures of one root as one: what each kind of item does when two closures both have it.
import type { ResolvedClosure } from '../../../lib/model/closure';
import { emptyClosure, unionOf } from '../../../lib/resolve/union';

const file = (path: string, reason: ResolvedClosure['files'][number]['reasons'][number]) => ({ path, reasons: [reason] }) as unknown as ResolvedClosure['files'][number];

test('one closure is returned as it is', () => {
  const only = emptyClosure('/r');
  expect(unionOf('/r', [only])).toBe(only);
});

test("a file in two closures is one file with both reasons (a reason given twice once); links by path, the last one's", () => {
  const a = { ...emptyClosure('/r'), files: [file('/b', { kind: 'entry', entry: 'x' })], symlinks: [{ path: '/l', target: 'a' }] } as ResolvedClosure;
  const b = { ...emptyClosure('/r'), files: [file('/b', { kind: 'entry', entry: 'x' }), file('/a', { kind: 'loader-cache' })], symlinks: [{ path: '/l', target: 'b' }] } as ResolvedClosure;
  b.files[0]!.reasons.push({ kind: 'collected', family: 'python', what: 'stdlib' });
  const u = unionOf('/r', [a, b]);
  expect(u.files.map((f) => [f.path, f.reasons.map((r) => r.kind)])).toEqual([['/a', ['loader-cache']], ['/b', ['entry', 'collected']]]);
  expect(u.symlinks).toEqual([{ path: '/l', target: 'b' }]);
  expect(a.files[0]!.reasons).toHaveLength(1); // the inputs are not changed
});

test('excluded paths once (the first reason), diagnostics once per message, library directories per entry', () => {
  const a = { ...emptyClosure('/r'), excluded: [{ path: '/x', reason: 'first' }], diagnostics: [{ level: 'warning', message: 'm' }], libraryPathExtras: [{ entry: 'e', dirs: ['/d1'] }] } as ResolvedClosure;
  const b = { ...emptyClosure('/r'), excluded: [{ path: '/x', reason: 'second' }], diagnostics: [{ level: 'warning', message: 'm' }], libraryPathExtras: [{ entry: 'e', dirs: ['/d2'] }, { entry: 'd', dirs: ['/d3'] }], dirs: ['/empty'] } as ResolvedClosure;
  const u = unionOf('/r', [a, b]);
  expect(u.excluded).toEqual([{ path: '/x', reason: 'first' }]);
  expect(u.diagnostics).toHaveLength(1);
  expect(u.libraryPathExtras).toEqual([{ entry: 'd', dirs: ['/d3'] }, { entry: 'e', dirs: ['/d1', '/d2'] }]);
  expect(u.dirs).toEqual(['/empty']);
});
