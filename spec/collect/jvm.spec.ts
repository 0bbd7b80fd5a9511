// JVM entries, for real: a jar built here with javac and jar (its Main-Class uses a class from
// another jar named by its Class-Path, a time zone from tzdb.dat, CRC32, java.net and
// java.lang.management, whose libmanagement.so the traced run never loads), bundled through the CLI with a trace that takes only its
// --version path, and run in the bare root (no java, no libc there) and in the Debian 11 root
// (glibc 2.31, no java) in host and ns modes, printing exactly what `java -jar app.jar` prints
// natively. Skipped, saying why, where no JDK is installed (.ci/run installs
// default-jdk-headless).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs, bullseyeRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(1_200_000);

const MOUNT = '/tmp/b';
const MAIN = `import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Instant;
import java.time.ZoneId;
import java.util.zip.CRC32;

public class Main {
  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--java-home")) {
      System.out.println(System.getenv("JAVA_HOME") + " " + System.getProperty("java.home"));
      return;
    }
    if (args.length > 0 && args[0].equals("--version")) {
      System.out.println("demo 1.0");
      return;
    }
    CRC32 crc = new CRC32();
    crc.update("abc".getBytes("UTF-8"));
    System.out.println(util.Greeting.of("jvm") + " " + Instant.ofEpochSecond(1700000000L).atZone(ZoneId.of("Asia/Kolkata"))
        + " " + Long.toHexString(crc.getValue()) + " " + InetAddress.getByName("127.0.0.1").isLoopbackAddress()
        + " threads " + (ManagementFactory.getThreadMXBean().getThreadCount() > 0));
  }
}
`;
const GREETING = 'package util;\npublic class Greeting { public static String of(String s) { return "hello " + s; } }\n';

const which = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
const tools = { java: which('java'), javac: which('javac'), jar: which('jar') };
const missing = Object.entries(tools).filter(([, p]) => p === '').map(([name]) => name);
if (missing.length > 0) console.warn(`SKIPPED the JVM tests: ${missing.join(', ')} not installed (Debian: apt-get install default-jdk-headless)`);
const describeWithJava = missing.length === 0 ? describe : describe.skip;

interface ManifestFile { path: string; size: number; reasons: Array<{ kind: string; what?: string; family?: string }> }

describeWithJava('a jar entry', () => {
  const work = tempDir('sb-jvm-');
  const app = path.join(work, 'demo');
  const out = path.join(work, 'out');
  let bundle: ReturnType<typeof createBundle>;
  let files: ManifestFile[];
  const home = () => path.dirname(path.dirname(realpathSync(tools.java)));

  beforeAll(() => {
    mkdirSync(path.join(app, 'src/util'), { recursive: true });
    mkdirSync(path.join(app, 'lib'));
    writeFileSync(path.join(app, 'src/Main.java'), MAIN);
    writeFileSync(path.join(app, 'src/util/Greeting.java'), GREETING);
    writeFileSync(path.join(app, 'manifest.txt'), 'Class-Path: lib/util.jar\n');
    const run = (argv: string[]) => {
      const r = spawnSync(argv[0]!, argv.slice(1), { cwd: app, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
    };
    run([tools.javac, '-d', 'classes', 'src/Main.java', 'src/util/Greeting.java']);
    run([tools.jar, '--create', '--file', 'lib/util.jar', '-C', 'classes', 'util']);
    run([tools.jar, '--create', '--file', 'app.jar', '--manifest', 'manifest.txt', '--main-class', 'Main', '-C', 'classes', 'Main.class']);
    bundle = createBundle(['--name', 'jvm', '--out-dir', out, '--from-host', `${path.join(app, 'app.jar')}::name=demo::trace=--version`]);
    files = JSON.parse(readFileSync(path.join(bundle.dir, 'manifest.lock'), 'utf8')).files;
  });

  const root = bareRootfs();
  const native = () => {
    const r = runOnHost([tools.java, '-jar', 'app.jar'], { cwd: app });
    expect({ stderr: r.stderr, status: r.status }).toEqual({ stderr: '', status: 0 });
    return r.stdout;
  };
  const shipped = (logical: string) => files.find((f) => f.path === `payload${logical}`);

  test('the files the trace did not open are there from the family, not the trace', () => {
    for (const file of ['lib/libmanagement.so', 'lib/tzdb.dat']) {
      expect([file, shipped(`${home()}/${file}`)?.reasons]).toEqual([file, [{ kind: 'collected', family: 'jvm', what: 'jvm runtime of demo' }]]);
    }
  });

  test('without the family\'s libmanagement.so the bundled program fails (the run needs it)', () => {
    const copy = path.join(work, 'without');
    expect(spawnSync('cp', ['-al', bundle.dir, copy]).status).toBe(0);
    rmSync(path.join(copy, `payload${home()}/lib/libmanagement.so`));
    const r = runInRoot(root, [`${MOUNT}/bin/demo`], { binds: { [copy]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: 'host' } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/UnsatisfiedLinkError: no management in system library path/);
  });

  test.each(['host', 'ns'])('in the bare root, mode %s, it prints what `java -jar app.jar` prints', (mode) => {
    const expected = native();
    expect(expected).toMatch(/^hello jvm 2023-11-15T03:43:20\+05:30\[Asia\/Kolkata\] 352441c2 true threads true\n$/);
    expect(runInRoot(root, ['/bin/sh', '-c', 'command -v java || ls /lib*/ld-linux* 2>/dev/null'], {}).stdout).toBe(''); // the precondition
    const r = runInRoot(root, [`${MOUNT}/bin/demo`], { binds: { [bundle.dir]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode } });
    expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: expected, stderr: '', status: 0 });
  });

  test.each(['host', 'ns'])('in the bullseye root (glibc 2.31), mode %s, it prints what `java -jar app.jar` prints', (mode) => {
    const bullseye = bullseyeRootfs();
    const expected = native();
    expect(expected).toMatch(/^hello jvm /);
    // The precondition: an older libc than the bundled java's, and no java of its own.
    expect(existsSync(path.join(bullseye, 'lib/x86_64-linux-gnu/libc-2.31.so'))).toBe(true);
    expect(runInRoot(bullseye, ['/bin/sh', '-c', 'command -v java'], {}).stdout).toBe('');
    const r = runInRoot(bullseye, [`${MOUNT}/bin/demo`], { binds: { [bundle.dir]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode } });
    expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: expected, stderr: '', status: 0 });
  });

  test('the jar and its Class-Path are shipped with their reasons', () => {
    const jar = files.find((f) => f.path.endsWith('/demo/app.jar'));
    expect(jar?.reasons.map((r) => r.kind)).toContain('entry');
    expect(files.find((f) => f.path.endsWith('/demo/lib/util.jar'))?.reasons).toEqual([{ kind: 'collected', family: 'jvm', what: 'class path of app.jar' }]);
  });

  test('what only development or a desktop needs is left out, and says so', () => {
    const under = (dir: string) => files.filter((f) => f.path.startsWith(`payload${home()}/${dir}`)).map((f) => f.path);
    expect(statSync(path.join(home(), 'lib/ct.sym')).isFile()).toBe(true); // the precondition: a JDK
    expect([...under('jmods/'), ...under('include/'), ...under('man/'), ...under('lib/ct.sym'), ...under('lib/libawt_xawt.so')]).toEqual([]);
    const diagnostics = bundle.diagnostics as Array<{ code: string; message: string }>;
    expect(diagnostics.find((d) => d.code === 'COLLECT_JVM_LEFT_OUT')?.message).toMatch(/without include\/, jmods\/.*lib\/src\.zip, lib\/ct\.sym/);
  });

  test.each([['host', `${MOUNT}/payload`], ['ns', '']])('in mode %s JAVA_HOME is the runtime the JVM runs from (java.home), whatever the caller\'s was', (mode, prefix) => {
    const r = runInRoot(root, [`${MOUNT}/bin/demo`, '--java-home'], { binds: { [bundle.dir]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode, JAVA_HOME: '/opt/other-jdk' } });
    expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: `${prefix}${home()} ${prefix}${home()}\n`, stderr: '', status: 0 });
  });

  test('what the bundle weighs: the runtime less than its home on disk (jmods/ alone is over 70 MiB)', () => {
    const onDisk = Number(spawnSync('du', ['-sb', home()], { encoding: 'utf8' }).stdout.split('\t')[0]);
    const runtime = files.filter((f) => f.path.startsWith(`payload${home()}/`)).reduce((n, f) => n + f.size, 0);
    expect(runtime).toBeGreaterThan(100 * 1048576); // lib/modules is in it
    expect(runtime).toBeLessThan(onDisk - 70 * 1048576);
    console.log(`jvm runtime: ${(runtime / 1048576).toFixed(1)} MiB of ${(onDisk / 1048576).toFixed(1)} MiB on disk`);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    console.log(`jvm bundle: ${files.length} files, ${(bytes / 1048576).toFixed(1)} MiB`);
  });
});

describeWithJava('java itself as the entry, with classes the target machine provides (java -cp DIR Main)', () => {
  const work = tempDir('sb-java-cp-');
  let bundle: ReturnType<typeof createBundle>;
  beforeAll(() => {
    mkdirSync(path.join(work, 'src/util'), { recursive: true });
    writeFileSync(path.join(work, 'src/Main.java'), MAIN);
    writeFileSync(path.join(work, 'src/util/Greeting.java'), GREETING);
    const javac = spawnSync(tools.javac, ['-d', 'classes', 'src/Main.java', 'src/util/Greeting.java'], { cwd: work, encoding: 'utf8' });
    if (javac.status !== 0) throw new Error(`javac failed: ${javac.stderr}`);
    bundle = createBundle(['--name', 'java', '--out-dir', path.join(work, 'out'), '--from-host', tools.java]);
  });
  const root = bareRootfs();

  test.each(['host', 'ns'])('in the bare root, mode %s, bin/java -cp DIR Main prints what java -cp DIR Main prints', (mode) => {
    const native = runOnHost([tools.java, '-cp', 'classes', 'Main'], { cwd: work });
    expect(native).toMatchObject({ stderr: '', status: 0 });
    expect(native.stdout).toMatch(/^hello jvm .* threads true\n$/);
    const r = runInRoot(root, [`${MOUNT}/bin/java`, '-cp', '/tmp/classes', 'Main'], { binds: { [bundle.dir]: MOUNT, [path.join(work, 'classes')]: '/tmp/classes' }, env: { SIDEBUNDLE_RUN_MODE: mode } });
    expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: native.stdout, stderr: '', status: 0 });
  });
});

describeWithJava('a broken jar', () => {
  test('a truncated jar entry is ZIP_UNREADABLE, exit 2, and no bundle', () => {
    const work = tempDir('sb-badjar-');
    const jar = path.join(work, 'broken.jar');
    // A local file header and nothing after it: what an interrupted download leaves.
    writeFileSync(jar, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60)]));
    const r = runCli(['create', '--name', 'broken', '--out-dir', path.join(work, 'out'), '--from-host', jar]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`error[ZIP_UNREADABLE]: ${jar} cannot be read as a zip archive (a jar): it has no end-of-central-directory record`);
    expect(existsSync(path.join(work, 'out/broken'))).toBe(false);
  });
});

describeWithJava('a JDK launcher entry (keytool), bundled without a trace', () => {
  const out = tempDir('sb-keytool-');
  let bundle: ReturnType<typeof createBundle>;
  beforeAll(() => {
    bundle = createBundle(['--name', 'keytool', '--out-dir', out, '--from-host', which('keytool')]);
  });
  const root = bareRootfs();
  const argv = ['-list', '-cacerts', '-storepass', 'changeit'];

  test.each(['host', 'ns'])('in the bare root, mode %s, it lists the bundled CA keystore as keytool does natively', (mode) => {
    const native = runOnHost([which('keytool'), ...argv]);
    expect(native.stdout).toMatch(/^Keystore type: JKS\n[\s\S]*trustedCertEntry/); // the precondition: a keystore with certificates
    const r = runInRoot(root, [`${MOUNT}/bin/keytool`, ...argv], { binds: { [bundle.dir]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode } });
    expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: native.stdout, stderr: native.stderr, status: 0 });
  });
});
