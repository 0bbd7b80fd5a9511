// --copy-dir copies a tree as cp -r would: empty directories stay (the program may write there or
// list them), and what no bundle can carry (a FIFO, a socket) is left out with a warning and
// recorded, never dropped without a word.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-copy-dir-');

test('empty directories are kept; a FIFO and a socket are left out with a warning and recorded in excluded', async () => {
  const src = path.join(dir, 'src');
  mkdirSync(path.join(src, 'cache/empty'), { recursive: true });
  mkdirSync(path.join(src, 'conf'));
  writeFileSync(path.join(src, 'conf/app.ini'), 'x=1\n');
  execFileSync('mkfifo', [path.join(src, 'conf/control.fifo')]);
  const server = net.createServer().listen(path.join(src, 'app.sock'));
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const r = runCli(['create', '--name', 'app', '--from-host', '/usr/bin/jq', '--copy-dir', `${src}:/opt/app`, '--out-dir', path.join(dir, 'out')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`warning: --copy-dir leaves out ${src}/conf/control.fifo, a FIFO: a bundle carries files, symlinks and directories`);
    expect(r.stderr).toContain(`--copy-dir leaves out ${src}/app.sock, a socket`);
    const bundle = path.join(dir, 'out/app');
    for (const d of ['payload/opt/app', 'payload/opt/app/cache', 'payload/opt/app/cache/empty']) expect([d, statSync(path.join(bundle, d)).isDirectory()]).toEqual([d, true]);
    const manifest = JSON.parse(readFileSync(path.join(bundle, 'manifest.lock'), 'utf8'));
    expect(manifest.dirs).toContain('payload/opt/app/cache/empty');
    expect(manifest.excluded.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining([`${src}/app.sock`, `${src}/conf/control.fifo`]));
    expect(runCli(['verify', bundle]).status).toBe(0);
  } finally {
    server.close();
  }
});
