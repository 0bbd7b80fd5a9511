// The replay record's states (lib/cli/replay.ts): what sidebundle-fingerprint compares. The native
// side reads the same records: spec/cli/fingerprint-replay.spec.ts runs both on one lock.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { formatReplay, statesOf, unchangedSince } from '../../../lib/cli/replay';
import { tempDir } from '../../helpers/tmp';

const later = (seconds: number) => BigInt(Date.now() + seconds * 1000) * 1_000_000n;

test('a directory walked through is recorded by kind, a listed one and a file by their full state, a missing path as absent', () => {
  const dir = tempDir('sb-replay-');
  writeFileSync(path.join(dir, 'f'), 'x');
  const states = statesOf({ paths: [dir, path.join(dir, 'f'), path.join(dir, 'none'), path.join(dir, 'f/below')], listed: [path.join(dir)] }, later(5))!;
  expect(states.get(dir)).toMatch(/^stat:\d+:\d+:\d+:\d+:\d+:\d+$/);
  expect(states.get(path.join(dir, 'f'))).toMatch(/^stat:\d+:\d+:1:\d+:\d+:\d+$/);
  expect(states.get(path.join(dir, 'none'))).toBe('absent');
  expect(states.get(path.join(dir, 'f/below'))).toBe('absent');
  expect(statesOf({ paths: [dir], listed: [] }, later(5))!.get(dir)).toBe('dir');
});

test('no record for a path changed within a second of the first look (its ctime may hide a second edit), nor for a name with a newline', () => {
  const dir = tempDir('sb-replay-');
  const file = path.join(dir, 'f');
  writeFileSync(file, 'x');
  utimesSync(file, new Date(2000, 1, 1), new Date(2000, 1, 1)); // mtime in the past; ctime is now
  expect(statesOf({ paths: [file], listed: [] }, later(0))).toBeUndefined();
  expect(statesOf({ paths: [file], listed: [] }, later(2))).toBeDefined();
  mkdirSync(path.join(dir, 'a\nb'));
  expect(statesOf({ paths: [path.join(dir, 'a\nb')], listed: [] }, later(2))).toBeUndefined();
});

test('unchangedSince: every path of the later look in the same state in the earlier one', () => {
  const earlier = new Map([['/a', 'dir'], ['/b', 'absent']]);
  expect(unchangedSince(earlier, new Map([['/a', 'dir']]))).toBe(true);
  expect(unchangedSince(earlier, new Map([['/b', 'stat:1:2:3:4:5:6']]))).toBe(false);
  expect(unchangedSince(earlier, new Map([['/c', 'absent']]))).toBe(false);
});

test('the record: header, STATE<TAB>PATH sorted by path, an empty line, then the output as printed', () => {
  expect(formatReplay(new Map([['/b', 'absent'], ['/a', 'dir']]), 'sidebundle 1\nfile /a x\n')).toBe('sidebundle-replay@1\ndir\t/a\nabsent\t/b\n\nsidebundle 1\nfile /a x\n');
  expect(formatReplay(new Map(), 'out\n')).toBe('sidebundle-replay@1\n\nout\n');
});
