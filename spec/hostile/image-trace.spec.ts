// A traced run inside an image must not change the image cache: the trace sees a throwaway
// overlay of the snapshot, so first-run writes (a new file, a file appended in place, which
// hard-linked snapshots would share with every later bundle) vanish with the trace.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { IMAGE_TAG, imageFixtures } from '../fixtures/images';
import { runOnHost } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { ImageStore, materializeImage } from '../../lib/image';

jest.setTimeout(300_000);

/** Every path under `root` with its type, size, mode and mtime: what a write would change. */
function fingerprint(root: string, rel = ''): string[] {
  const st = lstatSync(path.join(root, rel));
  const line = `${rel} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.nlink}`;
  if (!st.isDirectory()) return [line];
  return [line, ...readdirSync(path.join(root, rel)).sort().flatMap((name) => fingerprint(root, path.join(rel, name)))];
}

test('a trace that writes into the image leaves the cached snapshot as it was', async () => {
  const images = imageFixtures();
  const dir = tempDir('sb-imgtrace-');
  const cache = path.join(dir, 'images');
  const ref = `oci:${images.layout}:${IMAGE_TAG}`;
  const { rootfs } = await materializeImage(ref, { store: new ImageStore(cache) });
  const before = fingerprint(rootfs);
  const debianVersion = readFileSync(path.join(rootfs, 'etc/debian_version'), 'utf8');
  expect(before.some((line) => line.startsWith('usr/bin/python3 '))).toBe(true);

  const write = "open('/usr/lib/sb-poison', 'w').write('x'); open('/etc/debian_version', 'a').write('poisoned')";
  const bundle = createBundle(['--name', 'py', '--out-dir', path.join(dir, 'out'), '--cache-dir', path.join(dir, 'steps'),
    '--from-image', `${ref}::/usr/bin/python3::trace=/usr/bin/python3 -c "import json; ${write}"`], { env: { SIDEBUNDLE_IMAGE_CACHE: cache } });

  expect(readFileSync(path.join(rootfs, 'etc/debian_version'), 'utf8')).toBe(debianVersion);
  expect(fingerprint(rootfs)).toEqual(before);
  // The trace did run (and the bundle works): json was imported from the image.
  expect(runOnHost([path.join(bundle.dir, 'bin/python3'), '-c', 'import json; print(json.dumps([1]))']).stdout).toBe('[1]\n');
});
