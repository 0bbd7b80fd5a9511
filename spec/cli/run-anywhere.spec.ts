// The core promise, end to end with the CLI: programs bundled on this machine (bookworm, glibc
// 2.36) print exactly what they print natively, inside an older system (bullseye, glibc 2.31)
// and inside a root with no libc at all (busybox only). The same binaries copied bare fail there.
import { chmodSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs, bullseyeRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { originProgram } from '../helpers/programs';
import { tempDir } from '../helpers/tmp';

const MOUNT = '/tmp/the bundle';
const JSON_INPUT = '{"name":"sidebundle","tags":["elf","ld.so"],"n":[3,1,2]}';

const dir = tempDir('sb-anywhere-');
const script = path.join(dir, 'scripts/report.sh');
writeFileSync(path.join(dir, 'placeholder'), '');
require('node:fs').mkdirSync(path.dirname(script), { recursive: true });
writeFileSync(script, [
  '#!/bin/bash',
  '# pipes through helpers that the bundle must bring along',
  "printf 'alpha 1\\nbeta 2\\ngamma 3\\nalphabet 4\\n' | grep alpha | sed -e 's/alpha/ALPHA/' | awk '{ s += $2 } END { print \"sum\", s }'",
  'sed --version | head -n 1',
  'echo "bash ${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}"',
  '',
].join('\n'));
chmodSync(script, 0o755);
const greeter = originProgram(dir);

interface Case {
  name: string;
  /** Launcher to run, and its arguments. */
  argv: string[];
  /** The same on the host, natively. */
  native: string[];
  input?: string;
}

const cases: Case[] = [
  { name: 'jq', argv: ['jq', '-c', '{name, count: (.tags | length), sorted: (.n | sort)}'], native: ['/usr/bin/jq'], input: JSON_INPUT },
  { name: 'curl', argv: ['curl', '--version'], native: ['/usr/bin/curl'] },
  { name: 'git', argv: ['git', '--version'], native: ['/usr/bin/git'] },
  { name: 'report.sh', argv: ['report.sh'], native: [script] },
  { name: 'greeter', argv: ['greeter', 'bundle'], native: [greeter] },
];
const specs: Record<string, string> = { jq: '/usr/bin/jq', curl: '/usr/bin/curl', git: '/usr/bin/git', 'report.sh': script, greeter };

const bundles: Record<string, string> = {};
let merged: string;

beforeAll(() => {
  for (const c of cases) {
    bundles[c.name] = createBundle(['--name', c.name.replace('.', '-'), '--from-host', specs[c.name]!, '--out-dir', path.join(dir, 'out')]).dir;
  }
  merged = createBundle(['--name', 'merged', '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/curl', '--from-host', '/usr/bin/git', '--out-dir', path.join(dir, 'out')]).dir;
});

function nativeOutput(c: Case): string {
  const result = runOnHost([...c.native, ...c.argv.slice(1)], c.input === undefined ? {} : { input: c.input });
  expect(result.status).toBe(0);
  return result.stdout;
}

describe.each([
  ['bullseye (glibc 2.31)', bullseyeRootfs],
  ['bare (busybox only)', bareRootfs],
])('inside %s', (_label, rootOf) => {
  const root = rootOf();

  test.each(cases.map((c) => [c.name, c] as const))('%s prints exactly what it prints natively', (_name, c) => {
    const expected = nativeOutput(c);
    const result = runInRoot(root, [`${MOUNT}/bin/${c.argv[0]}`, ...c.argv.slice(1)], {
      binds: { [bundles[c.name]!]: MOUNT },
      ...(c.input === undefined ? {} : { input: c.input }),
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(expected);
    expect(result.status).toBe(0);
  });

  test('a merged bundle of jq, curl and git runs all three', () => {
    for (const c of cases.filter((x) => ['jq', 'curl', 'git'].includes(x.name))) {
      const result = runInRoot(root, [`${MOUNT}/bin/${c.argv[0]}`, ...c.argv.slice(1)], {
        binds: { [merged]: MOUNT },
        ...(c.input === undefined ? {} : { input: c.input }),
      });
      expect(result.stdout).toBe(nativeOutput(c));
    }
  });

  test('the same host binaries copied in bare do not run there (the test is real)', () => {
    const result = runInRoot(root, ['/tmp/bin/jq', '--version'], { binds: { '/usr/bin/jq': '/tmp/bin/jq' } });
    expect(result.status).not.toBe(0);
    if (root === bullseyeRootfs()) expect(result.stderr).toMatch(/GLIBC_2\.3[2-9]' not found/);
  });
});

test('the script bundle brings its helpers and runs them ahead of the system ones', () => {
  const manifest = JSON.parse(require('node:fs').readFileSync(path.join(bundles['report.sh']!, 'manifest.lock'), 'utf8'));
  const names = manifest.entries.map((e: { name: string }) => e.name);
  expect(names).toEqual(expect.arrayContaining(['report.sh', 'grep', 'sed', 'awk', 'head']));
  // busybox has its own sed; the bundled GNU sed must win on PATH.
  const result = runInRoot(bareRootfs(), [`${MOUNT}/bin/report.sh`], { binds: { [bundles['report.sh']!]: MOUNT } });
  expect(result.stdout).toContain('(GNU sed)');
});
