// The jvm family on a made-up root: which homes it finds, what it ships and leaves out, and a
// jar's Class-Path (transitively, directories whole, missing elements and broken jars named).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { dpkgIndex } from '../../../lib/collect/dpkg';
import type { CollectInput } from '../../../lib/collect/family';
import { jvmFamily } from '../../../lib/collect/jvm';
import type { ResolvedEntry } from '../../../lib/model/closure';
import { RootFs } from '../../../lib/resolve/rootfs';
import { tempDir } from '../../helpers/tmp';

const HOME = '/usr/lib/jvm/jdk';

/** A zip archive with one stored member (what `jar` writes, uncompressed). */
function jarWith(manifest: string): Buffer {
  const name = Buffer.from('META-INF/MANIFEST.MF');
  const data = Buffer.from(manifest);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const dir = Buffer.alloc(46);
  dir.writeUInt32LE(0x02014b50, 0);
  dir.writeUInt32LE(data.length, 20);
  dir.writeUInt32LE(data.length, 24);
  dir.writeUInt16LE(name.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(dir.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + data.length, 16);
  return Buffer.concat([local, name, data, dir, name, end]);
}

function rootWith(files: Record<string, string | Buffer>, links: Record<string, string> = {}): string {
  const root = tempDir('sb-jvm-unit-');
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), content);
  }
  for (const [p, target] of Object.entries(links)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    symlinkSync(target, path.join(root, p));
  }
  return root;
}

const jarEntry = (target: string): ResolvedEntry => ({ name: 'app', path: target, target, kind: 'script', script: { interpreter: `${HOME}/bin/java`, interpreterPath: '/usr/bin/java', args: [{ literal: '-jar' }] } });

function inputOf(root: string, entries: ResolvedEntry[], policy: CollectInput['policy'] = 'smart'): CollectInput {
  const fs = new RootFs(root);
  return { fs, files: [], excluded: [], entries, policy, budgetBytes: 0, packages: dpkgIndex(fs) };
}

const runtime = {
  [`${HOME.slice(1)}/bin/java`]: 'elf',
  [`${HOME.slice(1)}/lib/modules`]: 'image',
  [`${HOME.slice(1)}/lib/server/libjvm.so`]: 'elf',
  [`${HOME.slice(1)}/lib/server/classes_nocoops.jsa`]: 'cds',
  [`${HOME.slice(1)}/lib/libnet.so`]: 'elf',
  [`${HOME.slice(1)}/lib/libawt_xawt.so`]: 'elf',
  [`${HOME.slice(1)}/lib/ct.sym`]: 'sym',
  [`${HOME.slice(1)}/lib/tzdb.dat`]: 'tz',
  [`${HOME.slice(1)}/jmods/java.base.jmod`]: 'jmod',
  [`${HOME.slice(1)}/include/jni.h`]: 'h',
  'etc/jvm.cfg': '-server KNOWN',
};
const runtimeLinks = { [`${HOME.slice(1)}/lib/jvm.cfg`]: '/etc/jvm.cfg', [`${HOME.slice(1)}/lib/src.zip`]: '../../absent/src.zip' };

test('a jar entry gets its runtime home, without development files, desktop libraries or dangling links', () => {
  const root = rootWith({ ...runtime, 'srv/app/app.jar': jarWith('Manifest-Version: 1.0\n\n') }, runtimeLinks);
  const result = jvmFamily.detect(inputOf(root, [jarEntry('/srv/app/app.jar')]));
  expect(result.additions.map((a) => a.path.slice(HOME.length + 1))).toEqual(['bin/java', 'lib/jvm.cfg', 'lib/libnet.so', 'lib/modules', 'lib/server/libjvm.so', 'lib/tzdb.dat']);
  expect(result.additions[0]!.reason).toEqual({ kind: 'collected', family: 'jvm', what: 'jvm runtime of app' });
  expect(result.additions.find((a) => a.path.endsWith('libnet.so'))?.droppable).toBe('jvm library lib/libnet.so');
  expect(result.libraryDirs).toEqual([`${HOME}/lib/server`]);
  expect(result.diagnostics.map((d) => d.code)).toEqual(['COLLECT_JVM_LEFT_OUT']);
});

test('--collect full keeps the desktop libraries', () => {
  const root = rootWith(runtime, runtimeLinks);
  const entry: ResolvedEntry = { name: 'java', path: '/usr/bin/java', target: `${HOME}/bin/java`, kind: 'elf-dynamic' };
  expect(jvmFamily.detect(inputOf(root, [entry], 'full')).additions.map((a) => a.path)).toContain(`${HOME}/lib/libawt_xawt.so`);
});

test('a program outside a runtime home (no lib/modules) gets nothing', () => {
  const root = rootWith({ 'usr/bin/jq': 'elf' });
  expect(jvmFamily.detect(inputOf(root, [{ name: 'jq', path: '/usr/bin/jq', target: '/usr/bin/jq', kind: 'elf-dynamic' }]))).toEqual({ additions: [], diagnostics: [] });
});

test('Class-Path: jars transitively, directories whole, a missing element and a broken jar named', () => {
  const root = rootWith({
    ...runtime,
    'srv/app/app.jar': jarWith('Class-Path: lib/a.jar classes/ lib/gone.jar\n'),
    'srv/app/lib/a.jar': jarWith('Class-Path: b.jar broken.jar\n'),
    'srv/app/lib/b.jar': jarWith('Manifest-Version: 1.0\n'),
    'srv/app/lib/broken.jar': 'PK\u0003\u0004 not really',
    'srv/app/classes/x/Y.class': 'class',
  }, runtimeLinks);
  const result = jvmFamily.detect(inputOf(root, [jarEntry('/srv/app/app.jar')]));
  const classPath = result.additions.filter((a) => a.reason.what.startsWith('class path'));
  expect(classPath.map((a) => [a.path, a.reason.what])).toEqual([
    ['/srv/app/lib/a.jar', 'class path of app.jar'],
    ['/srv/app/classes/x/Y.class', 'class path of app.jar'],
    ['/srv/app/lib/b.jar', 'class path of a.jar'],
    ['/srv/app/lib/broken.jar', 'class path of a.jar'],
  ]);
  expect(result.diagnostics.filter((d) => d.level === 'warning').map((d) => d.code)).toEqual(['COLLECT_JVM_CLASS_PATH_MISSING', 'COLLECT_JVM_JAR_UNREADABLE']);
});

test('a broken entry jar is an error, not a warning', () => {
  const root = rootWith({ ...runtime, 'srv/app/app.jar': 'PK\u0003\u0004 truncated' }, runtimeLinks);
  expect(() => jvmFamily.detect(inputOf(root, [jarEntry('/srv/app/app.jar')]))).toThrow(expect.objectContaining({ code: 'ZIP_UNREADABLE' }));
});
