#!/usr/bin/env node
// Bundles the built CLI (dist/lib/cli/main.js and everything it requires, tar-stream included)
// into one file, dist/lib/cli/main.bundle.js, which dist/lib/cli/bin.js (the `sidebundle`
// command) runs. Part of `npm run build`, after tsc.
//
// Why: a command's start-up was mostly Node finding, reading and compiling ~100 small modules
// (each require() stats paths, reads the nearest package.json and compiles a file). One file is
// one read and one compile, which bin.js caches between runs. esbuild keeps each module's body
// in a closure that runs on its first require(), so a command still runs only its own modules'
// top-level code (spec/cli/startup.spec.ts checks that on main.js).
//
// Left out: ffi-rs (a native addon, loaded from node_modules where it was installed).
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');

const outfile = path.join(root, 'dist/lib/cli/main.bundle.js');
esbuild.buildSync({
  absWorkingDir: root,
  entryPoints: ['dist/lib/cli/main.js'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['ffi-rs'],
  // Readable stack traces over a smaller file: the code cache makes the size matter little.
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
});

// The bundle's sha256 goes on its second line, where bin.js reads it for the name of its code
// cache: code compiled from one bundle is never used with another.
{
  const fs = require('node:fs');
  const text = fs.readFileSync(outfile, 'latin1');
  const cut = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
  const digest = require('node:crypto').createHash('sha256').update(text.slice(cut), 'latin1').digest('hex');
  fs.writeFileSync(outfile, `${text.slice(0, cut)}// sha256 ${digest}\n${text.slice(cut)}`, 'latin1');
}

// esbuild writes code as ASCII (charset: 'ascii', its default) but keeps comments and the text of
// String.raw templates as they are. bin.js reads an ASCII bundle into a one-byte string (a copy);
// other characters make it decode UTF-8 into a two-byte one, slower to read and to compile.
const lines = require('node:fs').readFileSync(outfile, 'utf8').split('\n');
const wide = lines.flatMap((line, i) => (/[^\x00-\x7f]/.test(line) ? [`  ${i + 1}: ${line.trim().slice(0, 100)}`] : []));
if (wide.length > 0) {
  process.stderr.write(`scripts/bundle-cli.js: warning: ${path.relative(root, outfile)} is not ASCII, which slows every start of the CLI; write these characters as \\u escapes in their sources:\n${wide.join('\n')}\n`);
}
