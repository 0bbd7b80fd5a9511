// Output without Node's streams (see reporter.ts): its own module, so that bin.js answers
// --version with it and nothing else of the CLI.
import { writeSync } from 'node:fs';

/**
 * Write all of `text` to `fd` (1 or 2), synchronously as process.stdout writes to a file, pipe
 * or terminal on Linux. A reader that went away (`sidebundle resolve ... | head -1`) ends the
 * output, not the command.
 */
export function writeToFd(fd: number, text: string): void {
  const data = Buffer.from(text);
  for (let done = 0; done < data.length; ) {
    try {
      done += writeSync(fd, data, done, data.length - done);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      if (code !== 'EAGAIN') throw error;
      // A non-blocking descriptor (shared with a parent that made it so) is full: wait 1 ms.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
