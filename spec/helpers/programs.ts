// Test programs built by the tests: an argv/env printer, and a program whose library is found
// through a $ORIGIN-relative RUNPATH and a soname symlink chain.
import * as path from 'node:path';

import { compile, sharedLibrary } from './cc';

/** Prints its argv (one per line, bracketed), its cwd, and selected variables; `--exec CMD...`
 * replaces itself with CMD (to look at what a child inherits); exits with $EXIT_WITH. */
export function argvPrinter(dir: string): string {
  return compile(path.join(dir, 'argv-printer'), `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--exec") == 0) { execv(argv[2], argv + 2); perror("execv"); return 126; }
  char cwd[4096];
  for (int i = 1; i < argc; i++) printf("[%s]\\n", argv[i]);
  printf("cwd=%s\\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  const char *vars[] = { "SIDEBUNDLE_ROOT", "LD_LIBRARY_PATH", "GREETING", 0 };
  for (int i = 0; vars[i]; i++) printf("%s=%s\\n", vars[i], getenv(vars[i]) ? getenv(vars[i]) : "(unset)");
  return getenv("EXIT_WITH") ? atoi(getenv("EXIT_WITH")) : 0;
}
`);
}

/** <dir>/app/bin/greeter with RUNPATH $ORIGIN/../lib and lib/libgreet.so.1 -> libgreet.so.1.0.1. */
export function originProgram(dir: string): string {
  const libDir = path.join(dir, 'app/lib');
  sharedLibrary(libDir, 'greet', 1, '#include <stdio.h>\nvoid greet(const char *who) { printf("hello %s from libgreet.so.1\\n", who); }\n');
  return compile(path.join(dir, 'app/bin/greeter'), 'void greet(const char *); int main(int c, char **v) { greet(c > 1 ? v[1] : "world"); return 0; }', [
    `-L${libDir}`, '-lgreet', '-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN/../lib',
  ]);
}
