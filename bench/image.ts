// Image entries (issue: OCI images): unpacking the bullseye test image (three gzip layers, one
// with a whiteout and an opaque directory) by our verifying unpacker, by `umoci unpack`, and by
// plain `tar -xzf` of the layers in order (no whiteouts, no checks: the floor), interleaved;
// a cached second pull; and the seed's "before & after": bundle bytes against image bytes for
// jq and python3 bundled out of the image.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { bundle } from '../lib/bundle';
import { parseImageSpec } from '../lib/entries/spec';
import { ImageStore, materializeImage } from '../lib/image';
import { IMAGE_TAG, imageFixtures } from '../spec/fixtures/images';
import { fmt, nowMs, sideBySide, writeResults } from './harness';

const du = (dir: string) => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);

async function main(): Promise<void> {
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

  const shrink: Array<{ entry: string; bundleBytes: number }> = [];
  for (const [name, spec] of [
    ['jq', `${reference}::/usr/bin/jq`],
    ['python3', `${reference}::/usr/bin/python3::trace=/usr/bin/python3 -c 'import json, decimal, ssl'`],
  ] as const) {
    const result = await bundle({ name, entries: [parseImageSpec(spec)], outDir: path.join(work, 'out'), imageStore: store, runMode: 'host' });
    shrink.push({ entry: name, bundleBytes: du(result.dir) });
  }
  rmSync(work, { recursive: true, force: true });

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
    '| bundle out of the image | bundle | image (compressed layers) | image (unpacked) | shrink vs unpacked |',
    '| --- | --- | --- | --- | --- |',
    ...shrink.map((s) => `| ${s.entry} | ${mib(s.bundleBytes)} | ${mib(imageBytes)} | ${mib(rootfsBytes)} | ${(rootfsBytes / s.bundleBytes).toFixed(1)}× |`),
  ].join('\n'), { results, cachedMs, imageBytes, rootfsBytes, shrink });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
