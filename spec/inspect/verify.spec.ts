// verify: a bundle re-hashed against its manifest.lock names each changed, missing and extra
// file (exit 1) and is quiet when intact (exit 0); a .run is checked against its trailer digest.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';

import { createBundle, runCli, startCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-verify-');
let bundleDir: string;
let runFile: string;

beforeAll(() => {
  const bundle = createBundle(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', path.join(dir, 'out'), '--emit-single-file']);
  bundleDir = bundle.dir;
  runFile = path.join(dir, 'out', 'jq.run');
});

let n = 0;
/** A copy of the bundle to damage (hard links and modes kept, as the bundle has them). */
function copy(): string {
  const to = path.join(dir, `copy-${n++}`);
  execFileSync('cp', ['-a', bundleDir, to]);
  return to;
}

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] = b[0]! ^ 0xff;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

test('an intact bundle: exit 0, every file counted', () => {
  const r = runCli(['verify', bundleDir]);
  expect(r.stdout).toMatch(/^ok: \d+ files and \d+ directories of .* match manifest.lock/);
  expect(r.status).toBe(0);
});

test('--manifest-sha256 pins the manifest: a library changed and the manifest rewritten to agree is caught', () => {
  const at = copy();
  const pinned = JSON.parse(runCli(['verify', bundleDir, '--json']).stdout).verify.manifestSha256;
  expect(pinned).toBe(createHash('sha256').update(readFileSync(path.join(bundleDir, 'manifest.lock'))).digest('hex'));
  expect(runCli(['verify', at, '--manifest-sha256', pinned]).stdout).toMatch(/^ok: .* match manifest\.lock, whose sha256 is the one expected$/m);
  // A forger changes the program and records its new digest: plain verify is satisfied.
  const program = path.join(at, 'payload/usr/bin/jq');
  execFileSync('chmod', ['u+w', program]);
  flipByte(program, 1000);
  const manifestFile = path.join(at, 'manifest.lock');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  manifest.files.find((f: { path: string }) => f.path === 'payload/usr/bin/jq').sha256 = createHash('sha256').update(readFileSync(program)).digest('hex');
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  execFileSync('chmod', ['u-w', program]);
  expect(runCli(['verify', at]).status).toBe(0);
  const r = runCli(['verify', at, '--manifest-sha256', pinned.toUpperCase()]);
  expect(r.stdout).toMatch(new RegExp(`^changed  manifest\\.lock: sha256 [0-9a-f]{64}, expected ${pinned}: the manifest itself is not the one the bundle was built with$`, 'm'));
  expect(r.status).toBe(1);
  for (const [args, message] of [[[at, '--manifest-sha256', 'abc'], /--manifest-sha256 abc is not a sha256/], [[runFile, '--manifest-sha256', pinned], /checks a bundle directory's manifest.lock; .* is a file/]] as const) {
    const bad = runCli(['verify', ...args]);
    expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(message)]);
  }
});

test('a flipped byte, a removed file and an added one are each named; exit 1', () => {
  const at = copy();
  const program = path.join(at, 'payload/usr/bin/jq');
  expect(statSync(program).isFile()).toBe(true); // the one copy of its content: no data/ twin
  flipByte(program, 1000);
  rmSync(path.join(at, 'payload/etc/ld.so.cache'));
  writeFileSync(path.join(at, 'payload/usr/bin/planted'), 'not from the build\n');
  const r = runCli(['verify', at]);
  expect(r.stdout).toMatch(/^changed {2}payload\/usr\/bin\/jq: content changed \(sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}\)$/m);
  expect(r.stdout).toMatch(/^missing {2}payload\/etc\/ld\.so\.cache: file missing \(the loader cache, read by the bundled loader when the payload is \/\)$/m);
  expect(r.stdout).toMatch(/^extra {4}payload\/usr\/bin\/planted: file, 19 bytes not in manifest.lock$/m);
  expect(r.stdout).toMatch(/1 changed, 1 missing, 1 extra/);
  expect(r.status).toBe(1);
});

test('a name holding terminal escapes is shown escaped: it cannot print over the verdict', () => {
  const at = copy();
  writeFileSync(path.join(at, 'payload', 'a\r\u001b[2K\u001b[1Aok: 16 files match'), 'x');
  const r = runCli(['verify', at]);
  expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  expect(r.stdout).toContain('extra    payload/a\\x0d\\x1b[2K\\x1b[1Aok: 16 files match: file, 1 bytes not in manifest.lock');
  expect(r.status).toBe(1);
});

test('--json: one document with changed, missing and extra lists', () => {
  const at = copy();
  execFileSync('chmod', ['0777', path.join(at, 'bin')]);
  rmSync(path.join(at, 'bin/jq'));
  writeFileSync(path.join(at, 'bin/jq'), '#!/bin/sh\necho pwned\n');
  const r = runCli(['verify', at, '--json']);
  const doc = JSON.parse(r.stdout);
  expect(doc.ok).toBe(false);
  expect(doc.verify.changed).toEqual([
    { path: 'bin', why: 'directory mode 0777, manifest says 0755' },
    { path: 'bin/jq', why: 'a file where manifest.lock has a symlink -> ../runtime/sidebundle-launch' },
  ]);
  expect(doc.verify.missing).toEqual([]);
  expect(r.status).toBe(1);
});

test('built under umask 077, every directory is 0755 and every file its own mode: others can run it, verify says ok', () => {
  const old = process.umask(0o077);
  let bundle;
  try {
    bundle = createBundle(['--name', 'private', '--from-host', '/usr/bin/jq', '--out-dir', path.join(dir, 'umask')]);
  } finally {
    process.umask(old);
  }
  const manifest = JSON.parse(readFileSync(path.join(bundle.dir, 'manifest.lock'), 'utf8'));
  expect(manifest.dirs).toEqual(expect.arrayContaining(['bin', 'payload/usr/bin', 'runtime/entries']));
  for (const sub of ['', ...manifest.dirs]) expect([sub, statSync(path.join(bundle.dir, sub)).mode & 0o7777]).toEqual([sub, 0o755]);
  expect(statSync(path.join(bundle.dir, 'runtime/entries/jq.json')).mode & 0o7777).toBe(0o644);
  expect(statSync(path.join(bundle.dir, 'manifest.lock')).mode & 0o7777).toBe(0o644);
  expect(runCli(['verify', bundle.dir]).status).toBe(0);
  // Another user runs it (the directories above it let others through, as /opt does).
  for (const above of [dir, path.dirname(bundle.dir)]) execFileSync('chmod', ['0711', above]);
  const run = spawnSync(path.join(bundle.dir, 'bin/jq'), ['-n', '1 + 1'], { uid: 65534, gid: 65534, encoding: 'utf8' });
  expect([run.status, run.stdout, run.stderr]).toEqual([0, '2\n', '']);
});

test('a directory locked, one removed, one added, and a file where a directory was are each named', () => {
  const at = copy();
  execFileSync('chmod', ['0700', path.join(at, 'payload/usr/lib')]);
  rmSync(path.join(at, 'runtime/root'), { recursive: true });
  execFileSync('mkdir', [path.join(at, 'payload/plugins')]);
  rmSync(path.join(at, 'payload/usr/lib64'), { recursive: true });
  writeFileSync(path.join(at, 'payload/usr/lib64'), 'x');
  const r = runCli(['verify', at, '--json']);
  const { verify } = JSON.parse(r.stdout);
  expect(verify.changed).toEqual([
    { path: 'payload/usr/lib', why: 'directory mode 0700, manifest says 0755' },
    { path: 'payload/usr/lib64', why: 'a file where manifest.lock has a directory' },
  ]);
  expect(verify.missing).toEqual(expect.arrayContaining([{ path: 'runtime/root', why: 'directory missing' }]));
  expect(verify.extra).toEqual([{ path: 'payload/plugins', why: 'directory not in manifest.lock' }]);
  expect(r.status).toBe(1);
});

test('a mode widened on a payload file is a change', () => {
  const at = copy();
  execFileSync('chmod', ['0777', path.join(at, 'payload/etc/ld.so.cache')]);
  const r = runCli(['verify', at]);
  expect(r.stdout).toMatch(/payload\/etc\/ld\.so\.cache: mode 0777, manifest says 0444/);
  expect(r.status).toBe(1);
});

const asRoot = process.getuid?.() === 0;
(asRoot ? test : test.skip)('a file verify may not read is a finding named by its path; the others are still checked', () => {
  const at = copy();
  execFileSync('chmod', ['0755', dir]);
  execFileSync('chmod', ['0000', path.join(at, 'payload/etc/ld.so.cache')]);
  const r = runCli(['verify', at, '--json'], { uid: 65534, gid: 65534 });
  const doc = JSON.parse(r.stdout);
  expect(doc.verify.changed).toEqual([{ path: 'payload/etc/ld.so.cache', why: 'cannot be read (EACCES)' }]);
  expect(doc.verify.checked).toBeGreaterThan(5);
  expect(r.status).toBe(1);
});

test('a .run: intact against its trailer, and a flipped byte in a member is caught', () => {
  const ok = runCli(['verify', runFile]);
  expect(ok.stdout).toMatch(/matches its trailer \(sha256 [0-9a-f]{64}, \d+ members\)/);
  expect(ok.status).toBe(0);
  const damaged = path.join(dir, 'damaged.run');
  execFileSync('cp', [runFile, damaged]);
  const size = statSync(damaged).size;
  flipByte(damaged, size - 64 - 2000); // inside the last member (the index is 8 bytes a member)
  const r = runCli(['verify', damaged]);
  expect(r.stdout).toMatch(/is damaged:\n {2}(member \d+ of \d+ .*(does not inflate|inflates to)|its contents hash to sha256 [0-9a-f]{64}, the trailer says)/);
  expect(r.status).toBe(1);
});

test('a .run whose launcher or runner changed is damaged: the digest covers the code that runs (format 4)', () => {
  const trailer = readFileSync(runFile).subarray(-72);
  const runnerAt = Number(trailer.readBigUInt64LE(0));
  const membersAt = Number(trailer.readBigUInt64LE(24));
  expect(runnerAt).toBeGreaterThan(0); // the precondition: the file starts with the launcher
  for (const [name, at] of [['launcher', 100], ['runner', runnerAt + 5000], ['runner end', membersAt - 1]] as const) {
    const damaged = path.join(dir, `code-${name.replace(' ', '-')}.run`);
    execFileSync('cp', [runFile, damaged]);
    flipByte(damaged, at);
    const r = runCli(['verify', damaged]);
    expect({ name, stdout: r.stdout, status: r.status }).toEqual({ name, stdout: expect.stringMatching(/is damaged:\n {2}its contents hash to sha256 [0-9a-f]{64}, the trailer says/), status: 1 });
  }
});

test('a .run member that inflates past its index entry is damaged, and is not inflated whole', () => {
  const bomb = path.join(dir, 'bomb.run');
  const bytes = readFileSync(runFile);
  const trailer = Buffer.from(bytes.subarray(-72));
  const membersAt = Number(trailer.readBigUInt64LE(24));
  // One member of 64 MiB of zeros (64 KiB compressed) whose index entry says 1 KiB.
  const member = deflateRawSync(Buffer.alloc(64 << 20));
  const index = Buffer.alloc(8);
  index.writeUInt32LE(member.length, 0);
  index.writeUInt32LE(1024, 4);
  trailer.writeBigUInt64LE(BigInt(membersAt + member.length), 32);
  writeFileSync(bomb, Buffer.concat([bytes.subarray(0, membersAt), member, index, trailer]));
  const r = runCli(['verify', '--json', bomb]);
  expect(JSON.parse(r.stdout).singleFile.problems).toEqual([{ path: bomb, why: `member 1 of 1 (at byte ${membersAt}) inflates to more than the 1024 bytes the index says` }]);
  expect(r.status).toBe(1);
});

test('a .run whose digest holds but whose records the runner refuses is damaged (a crafted file)', () => {
  const bytes = readFileSync(runFile);
  const trailer = Buffer.from(bytes.subarray(-72));
  const stub = bytes.subarray(0, Number(trailer.readBigUInt64LE(24)));
  const head = Buffer.alloc(21);
  head.write('f', 0, 'latin1');
  head.writeUInt32LE(0o755, 1);
  const name = Buffer.from('../../escaped-by-run');
  head.writeUInt32LE(name.length, 17);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(2n);
  const records = Buffer.concat([head, name, size, Buffer.from('x\n')]);
  const member = deflateRawSync(records);
  const index = Buffer.alloc(8);
  index.writeUInt32LE(member.length, 0);
  index.writeUInt32LE(records.length, 4);
  trailer.writeBigUInt64LE(BigInt(stub.length + member.length), 32);
  createHash('sha256').update(stub).update(records).digest().copy(trailer, 40);
  const crafted = path.join(dir, 'crafted.run');
  writeFileSync(crafted, Buffer.concat([stub, member, index, trailer]));
  const r = runCli(['verify', '--json', crafted]);
  expect(JSON.parse(r.stdout).singleFile.problems).toEqual([{ path: crafted, why: 'the runner would refuse its records: unsafe path "../../escaped-by-run" in the bundle' }]);
  expect(r.status).toBe(1);
});

test('a .run with bytes appended is damaged (exit 1) and says so; one cut short is no bundle (exit 2) with a hint', () => {
  const appended = path.join(dir, 'appended.run');
  writeFileSync(appended, Buffer.concat([readFileSync(runFile), Buffer.from('extra\n')]));
  const r = runCli(['verify', appended]);
  expect(r.stdout).toBe(`${appended} is damaged:\n  6 bytes follow its trailer (ending at byte ${statSync(runFile).size}): something was appended to it\n`);
  expect(r.status).toBe(1);
  const cut = path.join(dir, 'cut.run');
  writeFileSync(cut, readFileSync(runFile).subarray(0, -1000));
  const c = runCli(['verify', cut]);
  expect(c.stderr).toMatch(/error\[INSPECT_NOT_A_BUNDLE\]: .*cut\.run is neither a bundle directory nor a single-file bundle\n {2}hint: .*a \.run cut short has lost its trailer/);
  expect(c.status).toBe(2);
});

test('a .run of another format is named as such (exit 2), not as damaged or as no bundle', () => {
  const older = path.join(dir, 'older.run');
  execFileSync('cp', [runFile, older]);
  const fd = openSync(older, 'r+');
  writeSync(fd, Buffer.from('SIDEBUNDLE-SFX-3', 'latin1'), 0, 16, statSync(older).size - 64);
  closeSync(fd);
  const r = runCli(['verify', older]);
  expect(r.stderr).toMatch(/error\[INSPECT_OTHER_FORMAT\]: \S+older\.run is a single-file bundle of another format \(SIDEBUNDLE-SFX-3\) than this sidebundle reads \(SIDEBUNDLE-SFX-4\)/);
  expect(r.status).toBe(2);
});

test('a manifest.lock that is a FIFO, or JSON null, is a bad manifest (exit 2) at once, not a hang or an internal error', () => {
  for (const [name, make] of [['fifo', (f: string) => execFileSync('mkfifo', [f])], ['null', (f: string) => writeFileSync(f, 'null')]] as const) {
    const bad = path.join(dir, `bad-${name}`);
    execFileSync('mkdir', ['-p', bad]);
    make(path.join(bad, 'manifest.lock'));
    const r = runCli(['verify', '--json', bad], { timeout: 20000 });
    expect({ name, status: r.status, code: JSON.parse(r.stdout).error?.code }).toEqual({ name, status: 2, code: 'INSPECT_BAD_MANIFEST' });
  }
});

test('not a bundle: exit 2 with a hint', () => {
  const r = runCli(['verify', '/etc']);
  expect(r.stderr).toMatch(/error\[INSPECT_NOT_A_BUNDLE\]: \/etc is not a bundle \(no manifest.lock\)/);
  expect(r.status).toBe(2);
  const f = runCli(['verify', '/etc/passwd']);
  expect(f.stderr).toMatch(/error\[INSPECT_NOT_A_BUNDLE\]/);
  expect(f.status).toBe(2);
  expect(runCli(['verify']).status).toBe(2);
});

test('Ctrl+C (SIGINT) ends a verify under way at once, a directory or a .run (synchronous work a handler would wait out): no verdict', async () => {
  // node's 100 MB take a while to hash; the signal goes once the command has a file of the
  // bundle open (found by its resolved path, as /proc shows it), so it lands mid-run anywhere.
  const out = path.join(dir, 'out-node');
  const big = realpathSync(createBundle(['--name', 'node', '--from-host', '/usr/bin/node', '--out-dir', out, '--emit-single-file']).dir);
  for (const [target, opened] of [[big, `${big}/payload/`], [`${big}.run`, `${big}.run`]] as const) {
    const child = startCli(['verify', target]);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const fds = `/proc/${child.pid}/fd`;
    const working = () => {
      try {
        return readdirSync(fds).some((fd) => {
          try {
            return readlinkSync(`${fds}/${fd}`).startsWith(opened);
          } catch {
            return false; // closed since the listing
          }
        });
      } catch {
        return false; // exited
      }
    };
    let sent = false;
    for (let waited = 0; waited < 30_000 && child.exitCode === null; waited += 1) {
      if (working()) {
        child.kill('SIGINT');
        sent = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect([target, sent]).toEqual([target, true]);
    // Ended by the signal itself (a shell shows 130), before it could print a verdict.
    expect([target, await closed, stdout]).toEqual([target, { code: null, signal: 'SIGINT' }, '']);
  }
});
