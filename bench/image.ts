// Image entries (issue: OCI images): unpacking the bullseye test image (three gzip layers, one
// with a whiteout and an opaque directory) by our verifying unpacker, by `umoci unpack`, and by
// plain `tar -xzf` of the layers in order (no whiteouts, no checks: the floor), interleaved;
// a cached second pull; and the seed's "before & after" for jq, python3 and a Node program out of
// an image: the source image's compressed layers against the image made of the bundle
// (--emit-oci), side by side with the directory bundle against the unpacked source.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { bundle } from '../lib/bundle';
import { parseImageSpec } from '../lib/entries/spec';
import { ImageStore, materializeImage } from '../lib/image';
import { IMAGE_TAG, imageFixtures } from '../spec/fixtures/images';
import { fmt, nowMs, sideBySide, writeResults } from './harness';

const du = (dir: string) => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);

async function main(): Promise<void> {
  const load = execFileSync('uptime', { encoding: 'utf8' }).trim();
  const { layout } = imageFixtures();
  const reference = `oci:${layout}:${IMAGE_TAG}`;
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-image-'));
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const manifestDigest = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === IMAGE_TAG)!.digest;
  const blob = (digest: string) => path.join(layout, 'blobs', ...digest.split(':'));
  const manifest = JSON.parse(readFileSync(blob(manifestDigest), 'utf8')) as { layers: Array<{ digest: string; size: number }> };
  const imageBytes = manifest.layers.reduce((n, l) => n + l.size, 0);

  let round = 0;
  const fresh = (name: string) => path.join(work, `${name}-${round++}`);
  const results = await sideBySide({
    'sidebundle (verify + unpack, cold)': async () => {
      const dir = fresh('ours');
      const start = nowMs();
      await materializeImage(reference, { store: new ImageStore(dir) });
      const ms = nowMs() - start;
      rmSync(dir, { recursive: true, force: true });
      return ms;
    },
    'umoci unpack': () => {
      const dir = fresh('umoci');
      const start = nowMs();
      execFileSync('umoci', ['unpack', '--image', `${layout}:${IMAGE_TAG}`, dir], { stdio: 'ignore' });
      const ms = nowMs() - start;
      rmSync(dir, { recursive: true, force: true });
      return ms;
    },
    'tar -xzf of each layer (no whiteouts, no checks)': () => {
      const dir = fresh('tar');
      execFileSync('mkdir', ['-p', dir]);
      const start = nowMs();
      for (const layer of manifest.layers) {
        // umoci ends small layers without tar's two zero blocks: GNU tar extracts them, then
        // reports "Unexpected EOF" (status 2). That is the only failure accepted here.
        const r = spawnSync('tar', ['-xzf', blob(layer.digest), '-C', dir], { encoding: 'utf8' });
        if (r.status !== 0 && !(r.status === 2 && /Unexpected EOF/.test(r.stderr))) throw new Error(`tar failed: ${r.stderr}`);
      }
      const ms = nowMs() - start;
      rmSync(dir, { recursive: true, force: true });
      return ms;
    },
  }, 3);

  const store = new ImageStore(path.join(work, 'store'));
  const first = await materializeImage(reference, { store });
  const startCached = nowMs();
  await materializeImage(reference, { store });
  const cachedMs = nowMs() - startCached;
  const rootfsBytes = du(first.rootfs);

  const node = nodeImage(layout, work);
  const nodeRootfs = du((await materializeImage(node.reference, { store })).rootfs);
  const shrink: Shrink[] = [];
  for (const [name, spec, unpacked] of [
    ['jq', `${reference}::/usr/bin/jq`, rootfsBytes],
    ['python3', `${reference}::/usr/bin/python3::trace=/usr/bin/python3 -c 'import json, decimal, ssl'`, rootfsBytes],
    [`Node program (${node.label})`, `${node.reference}::/app/hello.js::trace=/app/hello.js`, nodeRootfs],
  ] as const) {
    const result = await bundle({ name: `e${shrink.length}`, entries: [parseImageSpec(spec)], outDir: path.join(work, 'out'), imageStore: store, runMode: 'host', emitOci: path.join(work, `oci-${shrink.length}`) });
    const image = result.image!;
    shrink.push({ entry: name, bundleBytes: du(result.dir), sourceUnpacked: unpacked, sourceCompressed: image.source!.bytes, imageBytes: image.layerBytes });
  }
  rmSync(work, { recursive: true, force: true });
  const loadAfter = execFileSync('uptime', { encoding: 'utf8' }).trim();

  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const rows = Object.entries(results).map(([name, r]) => `| ${name} | ${fmt(r.median)} |`);
  const ours = results['sidebundle (verify + unpack, cold)']!.median;
  const umoci = results['umoci unpack']!.median;
  writeResults('image', [
    '# Image entries',
    '',
    `The bullseye test image (${manifest.layers.length} gzip layers, ${mib(imageBytes)} compressed, ${mib(rootfsBytes)} unpacked), built by the`,
    'tests with umoci. Medians of 3 interleaved rounds, each into a fresh directory.',
    '',
    '| unpack | median |',
    '| --- | --- |',
    ...rows,
    `| sidebundle, second pull (snapshot cached) | ${fmt(cachedMs)} |`,
    '',
    `Ours against umoci: ${(ours / umoci).toFixed(2)}×. Ours verifies every blob's sha256 while streaming and checks every`,
    'tar entry (names, links, sizes) before writing it.',
    '',
    'Out of an image: the image made of the bundle (`--emit-oci`: one gzip layer, FROM scratch) against the',
    'source image\'s compressed layers, and the directory bundle against the unpacked source.',
    '',
    '| program | source image (compressed) | our image (compressed) | image ratio (source / ours) | source unpacked | directory bundle | directory ratio (unpacked / bundle) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...shrink.map((s) => `| ${s.entry} | ${mib(s.sourceCompressed)} | ${mib(s.imageBytes)} | ${(s.sourceCompressed / s.imageBytes).toFixed(1)}× | ${mib(s.sourceUnpacked)} | ${mib(s.bundleBytes)} | ${(s.sourceUnpacked / s.bundleBytes).toFixed(1)}× |`),
    '',
    `The Node program's image is the bullseye image plus one layer holding ${node.label} at`,
    '/usr/bin/node and /app/hello.js (`#!/usr/bin/env node`, reads a file with fs and prints with util):',
    'Debian bullseye\'s own nodejs package is not in the fixture rootfs, and adding it would rebuild the',
    `fixture every test uses. That node binary is ${mib(node.bytes)} (it keeps its debug info), most of the Node row.`,
    'The bundles use run mode host (no launcher binary in them); image and bundle sizes do not vary between runs.',
    '',
    'The machine was shared with other jobs; `uptime` before and after:',
    '',
    `    ${load}`,
    `    ${loadAfter}`,
  ].join('\n'), { results, cachedMs, imageBytes, rootfsBytes, shrink, load, loadAfter });
}

interface Shrink { entry: string; bundleBytes: number; sourceUnpacked: number; sourceCompressed: number; imageBytes: number }

/** The bullseye layout plus a layer with this machine's node and a script: a Node program in an
 * image (umoci inserts the layer into a copy of the layout). */
function nodeImage(layout: string, work: string): { reference: string; label: string; bytes: number } {
  const copy = path.join(work, 'node-layout');
  cpSync(layout, copy, { recursive: true });
  const stage = path.join(work, 'node-stage');
  mkdirSync(path.join(stage, 'usr/bin'), { recursive: true });
  mkdirSync(path.join(stage, 'app'), { recursive: true });
  cpSync(process.execPath, path.join(stage, 'usr/bin/node'));
  const script = path.join(stage, 'app/hello.js');
  writeFileSync(script, "#!/usr/bin/env node\nconst fs = require('fs');\nconsole.log(require('util').format('%s lines in /etc/os-release', fs.readFileSync('/etc/os-release', 'utf8').split('\\n').length));\n");
  chmodSync(script, 0o755);
  execFileSync('umoci', ['insert', '--image', `${copy}:${IMAGE_TAG}`, stage, '/'], { stdio: 'ignore' });
  rmSync(stage, { recursive: true, force: true });
  return { reference: `oci:${copy}:${IMAGE_TAG}`, label: `node ${process.version}`, bytes: statSync(process.execPath).size };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
