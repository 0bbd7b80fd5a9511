// Ordinary bad image input through the CLI: each a named error with its own code, the input
// named and a hint, exit 2, never INTERNAL ("this is a bug").
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { layerBytes, ociLayout } from './crafted';

const dir = tempDir('sb-badimg-');
let n = 0;

let lastCache = '';
function createFrom(image: string) {
  lastCache = path.join(dir, `cache-${n++}`);
  return runCli(['create', '--name', 'x', '--out-dir', path.join(dir, 'out'), '--no-cache', '--from-image', `${image}::/bin/true`], { env: { SIDEBUNDLE_IMAGE_CACHE: lastCache } });
}

function expectBadInput(r: ReturnType<typeof runCli>, code: string, message: RegExp, input: string) {
  expect(r.stderr).not.toContain('INTERNAL');
  expect(r.stderr).toMatch(new RegExp(`error\\[${code}\\]: `));
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toContain(input);
  expect(r.stderr).toMatch(/\n {2}hint: \S/);
  expect(r.status).toBe(2);
}

/** A valid layout with one layer, then `spoil` applied to it. */
async function layout(spoil: (dir: string) => void = () => undefined): Promise<string> {
  const at = path.join(dir, `layout-${n++}`);
  ociLayout(at, [await layerBytes([{ name: 'bin/true', content: 'x' }], { gzip: true })]);
  spoil(at);
  return at;
}

/** A tar holding `members` (name → content), written by GNU tar from a directory. */
function tarOf(members: Record<string, string>): string {
  const src = path.join(dir, `tar-src-${n++}`);
  for (const [name, content] of Object.entries(members)) {
    mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
    writeFileSync(path.join(src, name), content);
  }
  const file = `${src}.tar`;
  execFileSync('tar', ['-cf', file, '-C', src, ...Object.keys(members)]);
  return file;
}

test('index.json that is not JSON: IMAGE_BAD_MANIFEST', async () => {
  const at = await layout((d) => writeFileSync(path.join(d, 'index.json'), '{"manifests": [ oops'));
  expectBadInput(createFrom(`oci:${at}`), 'IMAGE_BAD_MANIFEST', /index\.json is not JSON/, at);
});

test('index.json whose manifests is not an array: IMAGE_BAD_MANIFEST', async () => {
  const at = await layout((d) => writeFileSync(path.join(d, 'index.json'), '{"schemaVersion": 2, "manifests": {"a": 1}}'));
  expectBadInput(createFrom(`oci:${at}`), 'IMAGE_BAD_MANIFEST', /"manifests" in index\.json is not an array/, at);
});

test('index.json that is JSON but not an object: IMAGE_BAD_MANIFEST', async () => {
  const at = await layout((d) => writeFileSync(path.join(d, 'index.json'), 'null'));
  expectBadInput(createFrom(`oci:${at}`), 'IMAGE_BAD_MANIFEST', /index\.json is not a JSON object/, at);
});

test('an oci-archive whose index.json is not JSON: IMAGE_BAD_MANIFEST', () => {
  const file = tarOf({ 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': 'not json' });
  expectBadInput(createFrom(`oci-archive:${file}`), 'IMAGE_BAD_MANIFEST', /index\.json is not JSON/, file);
});

test('a docker-archive whose manifest.json is not JSON: IMAGE_BAD_MANIFEST', () => {
  const file = tarOf({ 'manifest.json': '[{"Config": ' });
  expectBadInput(createFrom(`docker-archive:${file}`), 'IMAGE_BAD_MANIFEST', /manifest\.json is not JSON/, file);
});

test('a docker-archive whose manifest.json is an object, not a list: IMAGE_BAD_MANIFEST', () => {
  const file = tarOf({ 'manifest.json': '{"Config": "x"}' });
  expectBadInput(createFrom(`docker-archive:${file}`), 'IMAGE_BAD_MANIFEST', /manifest\.json is not a JSON array/, file);
});

test('a docker-archive entry without Layers: IMAGE_BAD_MANIFEST', () => {
  const file = tarOf({ 'manifest.json': '[{"Config": "c.json"}]' });
  expectBadInput(createFrom(`docker-archive:${file}`), 'IMAGE_BAD_MANIFEST', /without a Config string and a Layers list/, file);
});

test.each(['oci-archive', 'docker-archive'])('an %s that is not a tar: IMAGE_BAD_ARCHIVE', (kind) => {
  const file = path.join(dir, `not-a-tar-${kind}`);
  writeFileSync(file, 'this is a text file, not a tar archive\n'.repeat(40));
  expectBadInput(createFrom(`${kind}:${file}`), 'IMAGE_BAD_ARCHIVE', /is not a readable tar archive/, file);
});

test('a layer entry with a 300-character name: IMAGE_LAYER_UNSAFE, nothing half-written', async () => {
  const name = `${'n'.repeat(300)}`;
  const at = path.join(dir, `layout-long-${n++}`);
  ociLayout(at, [await layerBytes([{ name: 'bin/true', content: 'x' }, { name: `usr/${name}`, content: 'x' }], { gzip: true })]);
  const r = createFrom(`oci:${at}`);
  expectBadInput(r, 'IMAGE_LAYER_UNSAFE', /a name in it is 300 bytes long, over the 255/, at);
  expect(readdirSync(path.join(lastCache, 'snapshots'))).toEqual([]);
  expect(readdirSync(path.join(lastCache, 'tmp'))).toEqual([]);
});

test('a layer that is not a tar at all: IMAGE_BAD_LAYER', async () => {
  const at = path.join(dir, `layout-junk-${n++}`);
  ociLayout(at, [Buffer.from('definitely not a tar, and long enough to be looked at\n'.repeat(30))]);
  expectBadInput(createFrom(`oci:${at}`), 'IMAGE_BAD_LAYER', /is not a readable layer/, at);
});
