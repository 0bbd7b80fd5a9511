#!/usr/bin/env node
// Build the native part (native/, Rust standard library only) offline and put the results in
// native/prebuilt/, which the npm package ships: the shared library that ffi-rs loads for
// tracing, and the static sidebundle-agent. SIDEBUNDLE_NATIVE_BUILD=stub builds a library whose
// tracing answers with a clear error (for check-only CI). Without cargo this prints why and
// exits 0: everything but tracing works without the shim.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const native = path.join(root, 'native');
const prebuilt = path.join(native, 'prebuilt');
const stub = process.env.SIDEBUNDLE_NATIVE_BUILD === 'stub';

function cargo(args, env = {}) {
  const result = spawnSync('cargo', args, { cwd: native, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  if (result.error && result.error.code === 'ENOENT') return 'missing';
  return result.status === 0 ? 'ok' : 'failed';
}

const lib = cargo(['build', '--release', '--offline', '--lib', ...(stub ? ['--features', 'stub'] : [])]);
if (lib === 'missing') {
  console.warn('sidebundle: cargo is not installed, so the native tracer was not built; everything but tracing works (install Rust and run `npm run build:native`).');
  process.exit(0);
}
if (lib !== 'ok') {
  console.error('sidebundle: building the native tracer failed (see above).');
  process.exit(1);
}
// The agent (tracing inside roots) and sidebundle-run (single-file bundles and run mode bwrap)
// are static: they run on machines whose C library we know nothing of.
// sidebundle-fingerprint (Nx's runtime input) is static so that it starts without a loader.
const agent = cargo(
  ['build', '--release', '--offline', '--bin', 'sidebundle-agent', '--bin', 'sidebundle-run', '--bin', 'sidebundle-fingerprint', '--target', 'x86_64-unknown-linux-gnu', '--target-dir', 'target/static', ...(stub ? ['--features', 'stub'] : [])],
  { RUSTFLAGS: '-C target-feature=+crt-static' },
);
if (agent !== 'ok') {
  console.error('sidebundle: building the static sidebundle-agent, sidebundle-run and sidebundle-fingerprint failed (see above).');
  process.exit(1);
}
// sidebundle-launch (native/nolibc), the launcher of a bundle's entries, has no C library at
// all (its own _start, raw system calls), so it is linked without start files or libc and with
// absolute addresses (nothing relocates a program that has no loader).
const launcher = cargo(
  ['build', '--release', '--offline', '--manifest-path', 'nolibc/Cargo.toml', '--bin', 'sidebundle-launch', '--target', 'x86_64-unknown-linux-gnu', '--target-dir', 'target/nolibc'],
  { RUSTFLAGS: '-C relocation-model=static -C target-feature=+crt-static' },
);
if (launcher !== 'ok') {
  console.error('sidebundle: building sidebundle-launch failed (see above).');
  process.exit(1);
}
fs.mkdirSync(prebuilt, { recursive: true });
const copy = (from, to) => {
  const tmp = `${to}.tmp-${process.pid}`;
  fs.copyFileSync(from, tmp);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, to); // a process that has the old copy loaded keeps it
};
copy(path.join(native, 'target/release/libsidebundle_native.so'), path.join(prebuilt, 'libsidebundle_native.so'));
copy(path.join(native, 'target/static/x86_64-unknown-linux-gnu/release/sidebundle-agent'), path.join(prebuilt, 'sidebundle-agent'));
copy(path.join(native, 'target/static/x86_64-unknown-linux-gnu/release/sidebundle-run'), path.join(prebuilt, 'sidebundle-run'));
copy(path.join(native, 'target/static/x86_64-unknown-linux-gnu/release/sidebundle-fingerprint'), path.join(prebuilt, 'sidebundle-fingerprint'));
copy(path.join(native, 'target/nolibc/x86_64-unknown-linux-gnu/release/sidebundle-launch'), path.join(prebuilt, 'sidebundle-launch'));
console.log(`sidebundle: native tracer built${stub ? ' (stub mode)' : ''} into ${path.relative(root, prebuilt)}/`);
