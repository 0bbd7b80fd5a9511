/* The parts of an ns launch that the runner's own timing (SIDEBUNDLE_DEBUG=timing) cannot see,
 * measured alone for bench/run.ts (compiled there with cc; Linux, x86-64):
 *
 *   launch-probe teardown RUNS DIR   how long after a process's last instruction its parent's
 *                                    wait returns: a plain process, one in a new user + mount
 *                                    namespace, and one that also mounted a tmpfs on DIR with a
 *                                    bind of each top-level directory of / in it (as the runner's
 *                                    root has), and the last again with a holder (a clone
 *                                    child keeping the namespaces until the parent exits; the
 *                                    runner does not start one, docs/run-modes.md says why).
 *                                    Interleaved; medians in µs as JSON.
 *   launch-probe cpuid RUNS          the cost of one CPUID instruction (a VM exit under a
 *                                    hypervisor; the C library's start-up executes dozens).
 *   launch-probe exit                nothing: linked statically, the start-up of a static
 *                                    glibc program (what the runner's start costs before main).
 *
 * Built with -nostdlib (see NOLIBC in run.ts) the same file is also the smallest static
 * program: _start exits at once, the exec alone. */
#define _GNU_SOURCE
#ifdef NOLIBC
void _start(void) { __asm__ volatile("mov $60, %eax\n xor %edi, %edi\n syscall"); }
#else
#include <cpuid.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

static double median_us(long long *v, int n) {
  qsort(v, n, sizeof *v, by_value);
  return v[n / 2] / 1e3;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd >= 0) {
    if (write(fd, text, strlen(text)) < 0) {}
    close(fd);
  }
}

/* The namespace of kind 1 (no mounts) or 2 (tmpfs on dir + a bind of each top-level directory). */
static int enter(int kind, const char *dir) {
  char map[64];
  unsigned uid = getuid(), gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return -1;
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "%u %u 1\n", uid, uid);
  write_file("/proc/self/uid_map", map);
  snprintf(map, sizeof map, "%u %u 1\n", gid, gid);
  write_file("/proc/self/gid_map", map);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return -1;
  if (kind < 2) return 0;
  if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) return -1;
  int binds = 0;
  DIR *root = opendir("/");
  struct dirent *e;
  while (root && (e = readdir(root))) {
    char from[512], to[1024];
    struct stat st;
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    snprintf(from, sizeof from, "/%s", e->d_name);
    if (lstat(from, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
    if (mkdir(to, 0755) == 0 && mount(from, to, NULL, MS_BIND | MS_REC, NULL) == 0) binds++;
  }
  if (root) closedir(root);
  return binds;
}

static char holder_stack[16384] __attribute__((aligned(16)));

/* A holder: dies with its parent, holds no descriptor, blocks every signal. */
static int hold(void *parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != (pid_t)(long)parent) _exit(0);
  syscall(SYS_close_range, 0, ~0U, 0);
  for (;;) pause();
}

static void start_holder(void) {
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  clone(hold, holder_stack + sizeof holder_stack, CLONE_VM, (void *)(long)getpid());
  sigprocmask(SIG_SETMASK, &old, NULL);
}

static int teardown(int runs, const char *dir) {
  long long *at = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  long long *samples[4];
  int binds = 0;
  for (int k = 0; k < 4; k++) samples[k] = calloc(runs, sizeof(long long));
  for (int r = 0; r < runs; r++) {
    for (int kind = 0; kind < 4; kind++) {
      at[1] = 0;
      pid_t child = fork();
      if (child == 0) {
        int n = kind ? enter(kind > 2 ? 2 : kind, dir) : 0;
        if (kind == 3 && n >= 0) start_holder();
        at[1] = n;
        at[0] = now();
        _exit(n < 0 ? 1 : 0);
      }
      int status;
      waitpid(child, &status, 0);
      long long waited = now();
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "launch-probe: the namespace of kind %d could not be made\n", kind);
        return 1;
      }
      samples[kind][r] = waited - at[0];
      if (kind == 2) binds = (int)at[1];
    }
  }
  printf("{\"plain\": %.1f, \"namespace\": %.1f, \"binds\": %.1f, \"held\": %.1f, \"bindCount\": %d}\n", median_us(samples[0], runs), median_us(samples[1], runs), median_us(samples[2], runs), median_us(samples[3], runs), binds);
  return 0;
}

static int cpuid(int runs) {
  long long *samples = calloc(runs, sizeof(long long));
  unsigned a, b, c, d;
  for (int r = 0; r < runs; r++) {
    long long t = now();
    __cpuid_count(4, r & 3, a, b, c, d);
    samples[r] = now() - t;
  }
  (void)a, (void)b, (void)c, (void)d; /* __cpuid_count is volatile asm: it runs regardless */
  printf("{\"cpuid\": %.2f}\n", median_us(samples, runs));
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "teardown") == 0) return teardown(atoi(argv[2]), argv[3]);
  if (argc >= 3 && strcmp(argv[1], "cpuid") == 0) return cpuid(atoi(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "exit") == 0) return 0;
  fprintf(stderr, "usage: launch-probe teardown RUNS DIR | cpuid RUNS\n");
  return 2;
}
#endif
