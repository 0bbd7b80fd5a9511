// The tracer on real programs: each backend on its own and compared, the process tree followed
// through forks, threads and execs, signals, timeouts, daemons, cancellation, permissions, and
// the agent inside the bullseye rootfs.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { TraceReport } from '../../lib/model/trace';
import { trace } from '../../lib/trace/tracer';
import { bullseyeRootfs } from '../fixtures/rootfs';
import { compile, sharedLibrary } from '../helpers/cc';
import { repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const PY = ['/usr/bin/python3', '-c', 'import ssl, sqlite3, ctypes, lzma, bz2, decimal, json'];
const dir = tempDir('sb-trace-');

function paths(report: TraceReport, filter: (f: TraceReport['files'][number]) => boolean = (f) => f.found): string[] {
  return report.files.filter(filter).map((f) => f.path);
}

function canonical(report: TraceReport, op: string): Set<string> {
  const out = new Set<string>();
  for (const f of report.files) {
    if (!f.found || !f.ops.includes(op as never)) continue;
    try {
      out.add(realpathSync(f.resolved ?? f.path));
    } catch {
      // gone since
    }
  }
  return out;
}

describe('backends on python3 importing ssl, sqlite3, ctypes, lzma, bz2, decimal, json', () => {
  const reports: Record<string, TraceReport> = {};
  beforeAll(async () => {
    for (const backend of ['ptrace', 'fanotify', 'combined'] as const) reports[backend] = await trace({ command: PY, backend, timeoutMs: 30_000 });
  });

  test.each(['ptrace', 'fanotify', 'combined'])('%s sees the extension modules and their libraries', (backend) => {
    const report = reports[backend]!;
    expect(report.backend).toBe(backend);
    expect(report.exit).toEqual({ code: 0 });
    const seen = [...canonical(report, 'open')].join('\n');
    for (const pattern of [/lib-dynload\/_ssl\.cpython-311/, /lib-dynload\/_sqlite3\.cpython-311/, /lib-dynload\/_ctypes\.cpython-311/, /libssl\.so\.3/, /libcrypto\.so\.3/, /libsqlite3\.so/, /python3\.11\/json\/__pycache__\/__init__/]) {
      expect(seen).toMatch(pattern);
    }
    expect(report.files.map((f) => f.path)).toEqual([...report.files.map((f) => f.path)].sort());
  });

  test('fanotify sees the files opened; ptrace sees them, the execs and the failed lookups', () => {
    const fan = canonical(reports.fanotify!, 'open');
    const ptr = canonical(reports.ptrace!, 'open');
    const missing = [...fan].filter((f) => !ptr.has(f) && !/\.pyc$|__pycache__/.test(f));
    expect(missing).toEqual([]);
    expect(paths(reports.ptrace!, (f) => f.ops.includes('exec'))).toContain('/usr/bin/python3');
    expect(reports.ptrace!.files.some((f) => !f.found)).toBe(true);
    expect(reports.fanotify!.files.every((f) => f.found)).toBe(true);
    // Python finds modules through sources it only stats: ptrace records them.
    expect(paths(reports.ptrace!, (f) => f.found && f.ops.includes('stat'))).toContain('/usr/lib/python3.11/json/__init__.py');
    const combined = reports.combined!;
    expect(combined.files.some((f) => f.seenBy.includes('ptrace') && f.seenBy.includes('fanotify'))).toBe(true);
  });
});

test('perl with POSIX and Data::Dumper', async () => {
  const report = await trace({ command: ['/usr/bin/perl', '-MPOSIX', '-MData::Dumper', '-e', 'print Dumper([floor(2.5)])'], backend: 'ptrace' });
  const seen = [...canonical(report, 'open')].join('\n');
  expect(seen).toMatch(/POSIX\.pm/);
  expect(seen).toMatch(/auto\/POSIX\/POSIX\.so/);
  expect(seen).toMatch(/Data\/Dumper\.pm/);
});

test('a library a program loads with dlopen by name', async () => {
  const base = path.join(dir, 'dlopen');
  sharedLibrary(base, 'sbplugin', 1, 'int plugin_answer(void) { return 42; }');
  const program = compile(path.join(base, 'loader'), `
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libsbplugin.so.1", RTLD_NOW);
  if (!h) { fprintf(stderr, "%s\\n", dlerror()); return 1; }
  int (*answer)(void) = (int (*)(void)) dlsym(h, "plugin_answer");
  printf("%d\\n", answer());
  return 0;
}`, ['-ldl', '-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN']);
  const report = await trace({ command: [program], backend: 'combined' });
  expect(report.exit).toEqual({ code: 0 });
  expect([...canonical(report, 'open')]).toContain(path.join(base, 'libsbplugin.so.1.0.1'));
});

test('50 short-lived children and 8 threads are traced completely', async () => {
  const base = path.join(dir, 'tree');
  require('node:fs').mkdirSync(base, { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(path.join(base, `child-${i}`), '');
  for (let i = 0; i < 8; i++) writeFileSync(path.join(base, `thread-${i}`), '');
  const program = compile(path.join(base, 'spawner'), `
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static const char *base;
static void *work(void *arg) {
  char p[4096]; snprintf(p, sizeof p, "%s/thread-%ld", base, (long) arg);
  int fd = open(p, O_RDONLY); if (fd >= 0) close(fd); return 0;
}
int main(int argc, char **argv) {
  base = argv[1];
  pthread_t t[8];
  for (long i = 0; i < 8; i++) pthread_create(&t[i], 0, work, (void *) i);
  for (int i = 0; i < 50; i++) {
    pid_t pid = fork();
    if (pid == 0) { char p[4096]; snprintf(p, sizeof p, "%s/child-%d", base, i); int fd = open(p, O_RDONLY); if (fd >= 0) close(fd); _exit(0); }
  }
  for (int i = 0; i < 8; i++) pthread_join(t[i], 0);
  while (wait(0) > 0) {}
  return 0;
}`, ['-pthread']);
  for (const backend of ['ptrace', 'fanotify'] as const) {
    const report = await trace({ command: [program, base], backend });
    const seen = paths(report);
    for (let i = 0; i < 50; i++) expect(seen).toContain(path.join(base, `child-${i}`));
    for (let i = 0; i < 8; i++) expect(seen).toContain(path.join(base, `thread-${i}`));
  }
});

describe('ptrace: what each kind of lookup records', () => {
  // One program making the lookups the tracer handles differently: relative to the cwd after a
  // chdir and to a directory descriptor, repeated (recorded at the entry once the path is known),
  // paths crossing a page boundary or ending at unreadable memory (read with process_vm_readv),
  // descriptor stats (AT_EMPTY_PATH, let through by the seccomp filter) and readlink.
  const base = path.join(dir, 'lookups');
  let report: TraceReport;
  const file = (name: string) => report.files.find((f) => f.path === path.join(base, name));

  beforeAll(async () => {
    require('node:fs').mkdirSync(path.join(base, 'sub/listed'), { recursive: true });
    for (const name of ['rel-file', 'sub/in-sub', 'stat-me', 'target', 'plain', 'crossing-a-page-boundary', 'at-page-end', 'fdcwd-empty-flag']) writeFileSync(path.join(base, name), '');
    require('node:fs').symlinkSync('target', path.join(base, 'link'));
    const program = compile(path.join(dir, 'lookups-program'), `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
static char p[4096];
static const char *at(const char *base, const char *name) { snprintf(p, sizeof p, "%s/%s", base, name); return p; }
int main(int argc, char **argv) {
  const char *base = argv[1]; struct stat st; char buf[256]; int fd;
  if (chdir(base) != 0) return 10;
  fd = open("rel-file", O_RDONLY); if (fd < 0) return 11; close(fd);
  int dfd = open(at(base, "sub"), O_RDONLY | O_DIRECTORY); if (dfd < 0) return 12;
  if (fstatat(dfd, "in-sub", &st, 0) != 0) return 13;
  if (fstat(dfd, &st) != 0) return 14;
  for (int i = 0; i < 3; i++) if (stat(at(base, "stat-me"), &st) != 0) return 15;
  for (int i = 0; i < 2; i++) { fd = open(at(base, "link"), O_RDONLY); if (fd < 0) return 16; close(fd); }
  for (int i = 0; i < 2; i++) { fd = open(at(base, "sub/listed"), O_RDONLY); if (fd < 0) return 17; close(fd); }
  fd = open(at(base, "plain"), O_RDONLY); if (fd < 0) return 18; close(fd);
  if (open(at(base, "plain"), O_RDONLY | O_DIRECTORY) >= 0) return 19;
  if (stat(at(base, "later"), &st) == 0) return 20;
  fd = open(at(base, "made-later"), O_WRONLY | O_CREAT, 0644); if (fd < 0) return 21; close(fd);
  char made[4096]; strcpy(made, p); if (rename(made, at(base, "later")) != 0) return 22;
  if (stat(at(base, "later"), &st) != 0) return 22;
  if (readlink(at(base, "link"), buf, sizeof buf) < 0) return 23;
  if (fstatat(AT_FDCWD, at(base, "fdcwd-empty-flag"), &st, AT_EMPTY_PATH) != 0) return 24;
  char *pages = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED || mprotect(pages + 2 * 4096, 4096, PROT_NONE) != 0) return 25;
  at(base, "crossing-a-page-boundary");
  char *crossing = pages + 4096 - strlen(p) / 2; strcpy(crossing, p);
  fd = open(crossing, O_RDONLY); if (fd < 0) return 26; close(fd);
  at(base, "at-page-end");
  char *end = pages + 2 * 4096 - strlen(p) - 1; strcpy(end, p);
  fd = open(end, O_RDONLY); if (fd < 0) return 27; close(fd);
  return 0;
}`);
    report = await trace({ command: [program, base], backend: 'ptrace' });
  });

  test('the program ran to its end', () => {
    expect(report.exit).toEqual({ code: 0 });
  });

  test('relative paths are made absolute with the cwd after a chdir, or the directory descriptor', () => {
    expect(file('rel-file')).toMatchObject({ ops: ['open'], found: true });
    expect(file('sub/in-sub')).toMatchObject({ ops: ['stat'], found: true });
    expect(report.files.some((f) => f.path === '' || f.path.endsWith('/'))).toBe(false);
  });

  test('repeated lookups record the same as one: ops, found, and the file a link opened', () => {
    expect(file('stat-me')).toMatchObject({ ops: ['stat'], found: true });
    expect(file('link')).toMatchObject({ ops: ['open', 'stat'], found: true, resolved: path.join(realpathSync(base), 'target') });
    expect(file('sub/listed')).toMatchObject({ ops: ['opendir'], found: true });
    expect(file('plain')).toMatchObject({ ops: ['open', 'opendir'], found: true });
  });

  test('a path missing at its first stat and there at a later one is found', () => {
    expect(file('later')).toMatchObject({ ops: ['stat'], found: true });
  });

  test('a path crossing a page boundary, or ending where readable memory ends, is read whole', () => {
    expect(file('crossing-a-page-boundary')).toMatchObject({ ops: ['open'], found: true });
    expect(file('at-page-end')).toMatchObject({ ops: ['open'], found: true });
  });

  test('AT_EMPTY_PATH with a path from the cwd is still a lookup', () => {
    expect(file('fdcwd-empty-flag')).toMatchObject({ ops: ['stat'], found: true });
  });
});

test('ptrace: a thread other than the leader that executes a program', async () => {
  const base = path.join(dir, 'thread-exec');
  require('node:fs').mkdirSync(base, { recursive: true });
  writeFileSync(path.join(base, 'marker'), '');
  const helper = compile(path.join(base, 'helper'), `
#include <fcntl.h>
int main(int argc, char **argv) { return open(argv[1], O_RDONLY) >= 0 ? 7 : 1; }`);
  const program = compile(path.join(base, 'thread-exec'), `
#include <pthread.h>
#include <unistd.h>
static char **args;
static void *run(void *unused) { (void) unused; execv(args[1], args + 1); return 0; }
int main(int argc, char **argv) { (void) argc; args = argv; pthread_t t; pthread_create(&t, 0, run, 0); pthread_join(t, 0); return 1; }`, ['-pthread']);
  const report = await trace({ command: [program, helper, path.join(base, 'marker')], backend: 'ptrace' });
  expect(report.exit).toEqual({ code: 7 });
  expect(report.files.find((f) => f.path === helper)).toMatchObject({ ops: ['exec'], found: true });
  expect(paths(report)).toContain(path.join(base, 'marker'));
});

describe('the process tree ends with the trace', () => {
  function running(marker: string): string[] {
    return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
  }

  test.each(['ptrace', 'fanotify', 'combined'] as const)('%s: a command that hangs is killed at the timeout', async (backend) => {
    const marker = `sb-hang-${backend}-${process.pid}`;
    const started = Date.now();
    const report = await trace({ command: ['/bin/sh', '-c', `sleep 1000 # ${marker}`, marker], backend, timeoutMs: 700 });
    expect(report.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(report.warnings.join(' ')).toMatch(/killed after the 700 ms timeout/);
    expect(running(marker)).toEqual([]);
  });

  test.each(['ptrace', 'fanotify'] as const)('%s: a daemon that double-forks is stopped too', async (backend) => {
    const marker = `sb-daemon-${backend}-${process.pid}`;
    const report = await trace({ command: ['/bin/sh', '-c', `(setsid sh -c 'sleep 1000 # ${marker}' &) ; exit 0`], backend, timeoutMs: 20_000 });
    expect(report.exit).toEqual({ code: 0 });
    expect(report.timedOut).toBe(false);
    expect(report.warnings.join(' ')).toMatch(/still running/);
    expect(running(marker)).toEqual([]);
  });

  test('a tracee killed by a signal is reported with it', async () => {
    const report = await trace({ command: ['/bin/sh', '-c', 'kill -KILL $$'], backend: 'ptrace' });
    expect(report.exit).toEqual({ signal: 'SIGKILL' });
  });

  test('signals a tracee sends itself are delivered', async () => {
    const program = compile(path.join(dir, 'sig/usr1'), `
#include <signal.h>
#include <stdlib.h>
static void on(int s) { (void) s; exit(42); }
int main(void) { signal(SIGUSR1, on); raise(SIGUSR1); return 1; }`);
    expect((await trace({ command: [program], backend: 'ptrace' })).exit).toEqual({ code: 42 });
  });

  test.each(['ptrace', 'fanotify'] as const)('%s: the command starts with SIGPIPE at its default (Node ignores it; a writer to a closed pipe dies as natively)', async (backend) => {
    const report = await trace({ command: ['/bin/bash', '-c', '/usr/bin/yes | /usr/bin/head -1 >/dev/null; exit ${PIPESTATUS[0]}'], backend });
    expect(report.exit).toEqual({ code: 141 });
  });

  test('an AbortSignal cancels the session and keeps what was seen', async () => {
    const marker = `sb-cancel-${process.pid}`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 400);
    const report = await trace({ command: ['/bin/sh', '-c', `cat /etc/hostname >/dev/null; sleep 1000 # ${marker}`], backend: 'ptrace', signal: controller.signal });
    expect(report.cancelled).toBe(true);
    expect(paths(report)).toContain('/etc/hostname');
    expect(running(marker)).toEqual([]);
  });
});

describe('permissions', () => {
  const script = (backend: string) => `
const { trace } = require(${JSON.stringify(path.join(repoRoot, 'dist/lib/trace/tracer.js'))});
trace({ command: ['/bin/true'], backend: ${JSON.stringify(backend)} })
  .then((r) => console.log(JSON.stringify({ backend: r.backend, warnings: r.warnings })))
  .catch((e) => console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })));`;

  function inProcess(prefix: string[], backend: string) {
    const result = spawnSync(prefix[0]!, [...prefix.slice(1), process.execPath, '-e', script(backend)], { encoding: 'utf8' });
    return JSON.parse(result.stdout.trim().split('\n').pop()!);
  }
  // capsh runs bash after `--`: let it exec node with the capability gone from every set.
  const without = (cap: string) => ['capsh', `--drop=${cap}`, '--', '-c', 'exec "$@"', 'run'];

  test('fanotify without CAP_SYS_ADMIN names the capability and the backend that needs less', () => {
    const out = inProcess(without('cap_sys_admin'), 'fanotify');
    expect(out.code).toBe('TRACE_FANOTIFY_DENIED');
    expect(out.message).toMatch(/CAP_SYS_ADMIN/);
    expect(out.hint).toMatch(/--trace-backend ptrace/);
  });

  test('auto without CAP_SYS_ADMIN falls back to ptrace and says why', () => {
    const out = inProcess(without('cap_sys_admin'), 'auto');
    expect(out.backend).toBe('ptrace');
    expect(out.warnings.join(' ')).toMatch(/combined is not available .*CAP_SYS_ADMIN/);
  });

  test('ptrace works for our own children without CAP_SYS_PTRACE', () => {
    expect(inProcess(without('cap_sys_ptrace'), 'ptrace').backend).toBe('ptrace');
  });

  test('ptrace refused (sidebundle already being traced) is a clear error', () => {
    const out = inProcess(['strace', '-f', '-o', '/dev/null', '-e', 'trace=none'], 'ptrace');
    expect(out.code).toBe('TRACE_PTRACE_DENIED');
    expect(out.message).toMatch(/ptrace is not permitted/);
    expect(out.hint).toMatch(/CAP_SYS_PTRACE.*--trace-backend fanotify/);
  });
});

describe('the agent traces inside the bullseye rootfs', () => {
  test.each(['ptrace', 'fanotify', 'combined'] as const)('%s: python3 and jq, paths as seen inside', async (backend) => {
    const root = bullseyeRootfs();
    const python = await trace({ command: ['/usr/bin/python3', '-c', 'import json'], root, backend });
    expect(python.root).toBe(root);
    expect(python.exit).toEqual({ code: 0 });
    expect(paths(python).join('\n')).toMatch(/^\/usr\/lib\/python3\.9\/json\//m);
    expect(paths(python).some((p) => p.startsWith(root))).toBe(false);
    const jq = await trace({ command: ['jq', '--version'], root, backend });
    expect(paths(jq).join('\n')).toMatch(/libjq\.so/);
  });
});
