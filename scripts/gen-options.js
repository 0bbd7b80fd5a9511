#!/usr/bin/env node
// Write the files generated from the option table (lib/config/options.ts): each executor's
// schema.json, sidebundle.schema.json and docs/options.md. Reads the built table (dist/), so run
// it through `npm run gen:options`, which builds first. `--check` writes nothing and fails when a
// committed copy is stale (spec/config/options.spec.ts checks the same in the tests).
const { readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { generatedFiles } = require(path.join(root, 'dist/lib/config/options-render.js'));
const check = process.argv.includes('--check');
let stale = 0;
for (const [file, text] of Object.entries(generatedFiles())) {
  const target = path.join(root, file);
  let current;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  stale++;
  if (check) {
    console.error(`${file} is stale: run npm run gen:options`);
  } else {
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
    console.log(`wrote ${file}`);
  }
}
process.exitCode = check && stale > 0 ? 1 : 0;
