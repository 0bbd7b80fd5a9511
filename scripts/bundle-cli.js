#!/usr/bin/env node
// Bundles the built CLI into one file per command, dist/lib/cli/main.<command>.bundle.js: main.js
// and everything that command requires (tar-stream included), which dist/lib/cli/bin.js (the
// `sidebundle` command) runs. Part of `npm run build`, after tsc.
//
// Why: a command's start-up was mostly Node finding, reading and compiling ~100 small modules
// (each require() stats paths, reads the nearest package.json and compiles a file). One file is
// one read and one compile, which bin.js caches between runs. esbuild keeps each module's body
// in a closure that runs on its first require(), so a command still runs only its own modules'
// top-level code (spec/cli/startup.spec.ts checks that on main.js). One bundle per command, not
// one for all: every start reads its bundle and makes a string of it before V8 compiles a line,
// and on this machine's VM every page touched costs (resolve: 183 KB instead of 822 KB, its
// start 89 ms instead of 98 ms beside node -e 0's 60 ms, bench/results/startup.md). main.js's
// requires of the other commands' modules stay requires (of tsc's modules beside it), never
// taken: main.js runs the command its first argument names, which is the bundle's.
//
// Left out: ffi-rs (a native addon, loaded from node_modules where it was installed).
//
// It also gives dist/lib/cli/bin.js its first lines (see shellHeader below).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const cliDir = path.join(root, 'dist/lib/cli');
const { COMMAND_NAMES } = require(path.join(cliDir, 'main.js'));
const { COMMAND_NAME, commandBundle } = require(path.join(cliDir, 'command-bundle.js'));
// bin.js takes a bundle's name from argv[0] only where it is such a word (never a path), and the
// plugin below finds each command's module as ./<name>.
for (const name of COMMAND_NAMES) {
  if (!COMMAND_NAME.test(name)) throw new Error(`scripts/bundle-cli.js: the command name ${JSON.stringify(name)} is not ${COMMAND_NAME}, which bin.js needs to find its bundle (${commandBundle('<name>')})`);
}

/** main.js's require('./<other command>') left to run time: the bundle holds one command. */
const only = (command) => ({
  name: 'only-this-command',
  setup(build) {
    build.onResolve({ filter: /^\.\/[a-z]+$/ }, (args) => {
      const name = args.path.slice(2);
      if (args.importer !== path.join(cliDir, 'main.js') || name === command || !COMMAND_NAMES.includes(name)) return undefined;
      return { path: args.path, external: true };
    });
  },
});

// Bundles of an earlier build whose command is gone would be run for a name main.js no longer has.
for (const entry of fs.readdirSync(cliDir)) if (/^main\.[a-z]+\.bundle\.js$/.test(entry)) fs.rmSync(path.join(cliDir, entry));
fs.rmSync(path.join(cliDir, 'main.bundle.js'), { force: true }); // the one bundle of builds before

async function bundle(command) {
  const outfile = path.join(cliDir, commandBundle(command));
  const [output] = (await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['dist/lib/cli/main.js'],
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['ffi-rs'],
    plugins: [only(command)],
    // Readable stack traces over a smaller file: minifying resolve's bundle (183 -> 124 KB)
    // measured no faster in interleaved runs.
    minify: false,
    legalComments: 'none',
    logLevel: 'warning',
  })).outputFiles;
  // The bundle's sha256 goes on its second line, where bin.js reads it for the name of its code
  // cache: code compiled from one bundle is never used with another.
  const text = Buffer.from(output.contents).toString('latin1');
  const cut = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
  const digest = require('node:crypto').createHash('sha256').update(text.slice(cut), 'latin1').digest('hex');
  fs.writeFileSync(outfile, `${text.slice(0, cut)}// sha256 ${digest}\n${text.slice(cut)}`, 'latin1');

  // esbuild writes code as ASCII (charset: 'ascii', its default) but keeps comments and the text of
  // String.raw templates as they are. bin.js reads an ASCII bundle into a one-byte string (a copy);
  // other characters make it decode UTF-8 into a two-byte one, slower to read and to compile.
  const lines = fs.readFileSync(outfile, 'utf8').split('\n');
  const wide = lines.flatMap((line, i) => (/[^\x00-\x7f]/.test(line) ? [`  ${i + 1}: ${line.trim().slice(0, 100)}`] : []));
  if (wide.length > 0) {
    process.stderr.write(`scripts/bundle-cli.js: warning: ${path.relative(root, outfile)} is not ASCII, which slows every start of the CLI; write these characters as \\u escapes in their sources:\n${wide.join('\n')}\n`);
  }
}

Promise.all(COMMAND_NAMES.map(bundle)).catch((error) => {
  process.stderr.write(`scripts/bundle-cli.js: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});

// bin.js (the `sidebundle` command) is bundled too, with the few modules it requires (the cache
// directory's formula; the crash marks' liveness check, run only when a mark is found): every
// module is a lookup, a read and a compile on each start (~1 ms for the first one, measured).
// main.js stays outside: bin.js runs it for --help, for an argument that names no command, and
// when the bundle is stale (it answers --version itself).
//
// bin.js then starts as a shell script that runs itself with node: the line after `#!/bin/sh`
// is `':' //; ...`, for sh the no-op `:` and then commands, for JavaScript a string and a
// comment. Why: where NODE_EXTRA_CA_CERTS is set, Node 20 reads and parses those certificates
// and its own ~140 at start-up, before any script runs (OpenSSL 3 makes that ~45 ms: `node -e
// 0` takes 71 ms here with the variable set, 26 ms without; Node made the loading lazy only in
// 2025, nodejs/node#59856). Only image pulls over https use the certificates, so the script
// moves the variable to SIDEBUNDLE_NODE_EXTRA_CA_CERTS; bin.js puts it back for the programs
// sidebundle starts and lib/image/registry-http.ts adds the file's certificates to Node's
// default store (bundled, OpenSSL's or the system's, as Node was built and started) on the
// first https exchange. The shell costs ~1 ms; Node versions that load the certificates lazily
// themselves (nodejs/node#59856, 2025) gain nothing from it. tsc writes bin.js with
// `#!/usr/bin/env node`, which also works (the certificates then load at start-up). The line is
// lib/resolve/shebang.ts's, which also tells sidebundle bundling such a file to run it with the
// bundled node (tsc has built it by now).
const shellHeader = ['#!/bin/sh', require(path.join(root, 'dist/lib/resolve/shebang.js')).SIDEBUNDLE_SH_NODE_LINE];
{
  const bin = path.join(root, 'dist/lib/cli/bin.js');
  const first = fs.readFileSync(bin, 'utf8').split('\n', 1)[0];
  if (first === '#!/usr/bin/env node') {
    // As tsc wrote it (a bin.js this script already made starts with the shell header).
    const built = esbuild.buildSync({
      absWorkingDir: root,
      entryPoints: [bin],
      bundle: true,
      write: false,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['./main'],
      minify: false,
      legalComments: 'none',
      logLevel: 'warning',
    }).outputFiles[0].text;
    if (!built.startsWith(`${first}\n`)) throw new Error('scripts/bundle-cli.js: esbuild did not keep bin.js\'s #! line');
    const temporary = `${bin}.tmp-${process.pid}`;
    fs.writeFileSync(temporary, `${shellHeader.join('\n')}\n${built.slice(first.length + 1)}`, { mode: 0o755 });
    fs.renameSync(temporary, bin);
    fs.rmSync(`${bin}.map`, { force: true }); // tsc's map is of the file before bundling
  } else if (first !== shellHeader[0]) {
    throw new Error(`scripts/bundle-cli.js: ${path.relative(root, bin)} starts with ${JSON.stringify(first)}, not the shebang tsc writes`);
  }
}
