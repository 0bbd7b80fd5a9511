// The report's data and layout as pure functions: treemap geometry, the heading a file is counted
// under, the glibc floor, and which entries a file serves (reasons in words: spec/unit/inspect).
import { buildReportData } from '../../../lib/report/data';
import { compareVersions, summarizeGlibc } from '../../../lib/report/glibc';
import { collectedBy } from '../../../lib/report/reasons';
import { squarify } from '../../../lib/report/squarify';
import { renderReportHtml } from '../../../lib/report/html';
import type { Manifest } from '../../../lib/package/manifest';

describe('squarify', () => {
  const values = [600, 300, 120, 80, 50, 30, 12, 5, 2, 1];
  const rects = squarify(values, 10, 20, 400, 300);

  it('gives each value an area proportional to it, filling the rectangle', () => {
    const total = values.reduce((a, b) => a + b, 0);
    rects.forEach(([, , w, h], i) => expect(w! * h!).toBeCloseTo((values[i]! / total) * 400 * 300, 6));
  });

  it('keeps every rectangle inside the bounds and none overlapping', () => {
    for (const [x, y, w, h] of rects) {
      expect(x!).toBeGreaterThanOrEqual(10 - 1e-9);
      expect(y!).toBeGreaterThanOrEqual(20 - 1e-9);
      expect(x! + w!).toBeLessThanOrEqual(410 + 1e-9);
      expect(y! + h!).toBeLessThanOrEqual(320 + 1e-9);
    }
    for (let i = 0; i < rects.length; i++) {
      for (let j = i + 1; j < rects.length; j++) {
        const [a, b] = [rects[i]!, rects[j]!];
        const overlapX = Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!);
        const overlapY = Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!);
        expect(overlapX <= 1e-9 || overlapY <= 1e-9).toBe(true);
      }
    }
  });

  it('keeps the big rectangles close to square (a slice layout would not)', () => {
    const [w, h] = [rects[0]![2]!, rects[0]![3]!];
    expect(Math.max(w / h, h / w)).toBeLessThan(2);
  });

  it('is self-contained, so the page can embed its source', () => {
    const copy = new Function(`${squarify.toString()}; return squarify;`)() as typeof squarify;
    expect(copy([3, 1], 0, 0, 4, 1)).toEqual(squarify([3, 1], 0, 0, 4, 1));
  });
});

describe('the heading a file is counted under', () => {
  it('files a library both needed and traced under DT_NEEDED', () => {
    expect(collectedBy([{ kind: 'traced', entry: 'a', command: 'a', op: 'open' }, { kind: 'needed', name: 'x', by: '/a', via: 'path' }])).toBe('libraries (DT_NEEDED)');
    expect(collectedBy([{ kind: 'collected', family: 'perl', what: 'perl core' }])).toBe('collected: perl');
  });
});

describe('the glibc floor', () => {
  it('compares versions numerically', () => {
    expect(compareVersions('2.9', '2.10')).toBeLessThan(0);
    expect(compareVersions('3.4.30', '3.4.9')).toBeGreaterThan(0);
  });

  it('is the newest GLIBC_ version a non-glibc file needs, GLIBC_PRIVATE and glibc itself aside', () => {
    const summary = summarizeGlibc([
      { path: 'payload/usr/bin/app', isGlibc: false, needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.2.5', 'GLIBC_2.34'] }, { file: 'libstdc++.so.6', versions: ['GLIBCXX_3.4.9', 'GLIBCXX_3.4.30'] }] },
      { path: 'payload/usr/lib/libfoo.so.1', isGlibc: false, needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.34', 'GLIBC_PRIVATE'] }] },
      { path: 'payload/usr/lib/libm.so.6', isGlibc: true, needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.38', 'GLIBC_PRIVATE'] }] },
      { path: 'payload/usr/lib/data.so', isGlibc: false, needs: [] },
    ]);
    expect(summary.floor).toBe('GLIBC_2.34');
    expect(summary.floorNeededBy).toEqual(['payload/usr/bin/app', 'payload/usr/lib/libfoo.so.1']);
    expect(summary.glibcxx).toBe('GLIBCXX_3.4.30');
    expect(summary.elfs.map((e) => e.path)).toEqual(['payload/usr/bin/app', 'payload/usr/lib/libfoo.so.1', 'payload/usr/lib/libm.so.6']);
  });
});

function manifest(): Manifest {
  const file = (path: string, size: number, reasons: Manifest['files'][number]['reasons']) => ({ path, sha256: path.padEnd(64, '0'), size, mode: '0555', reasons });
  return {
    format: 'sidebundle/manifest@2',
    name: 'demo',
    generator: { name: 'sidebundle', version: '0.0.0' },
    roots: [{ root: '/', payload: 'payload' }, { root: '/cache/rootfs', source: 'docker://debian:12@sha256:abc', payload: 'payload-2' }],
    entries: [
      { name: 'jq', path: 'bin/jq', kind: 'elf-dynamic', program: 'payload/usr/bin/jq', argv0: true, args: [], helpersOnPath: false, env: {}, hostEnv: {}, payload: 'payload', logicalProgram: '/usr/bin/jq', launcher: 'bin/jq', runMode: 'auto' },
    ],
    files: [
      file('payload/usr/bin/jq', 100, [{ kind: 'entry', entry: 'jq' }]),
      file('payload/usr/lib/libjq.so.1', 50, [{ kind: 'needed', name: 'libjq.so.1', by: '/usr/bin/jq', via: 'runpath' }]),
      file('payload/usr/lib/libonig.so.5', 40, [{ kind: 'needed', name: 'libonig.so.5', by: '/usr/lib/libjq.so.1', via: 'ld.so.cache' }]),
      file('payload/usr/share/misc/magic', 9, [{ kind: 'collected', family: 'plugin-dirs', what: 'plugin dir of x' }]),
      file('payload-2/usr/bin/tool', 7, [{ kind: 'copy-dir', source: '/usr/bin' }]),
    ],
    symlinks: [],
    launchers: [{ path: 'runtime/sidebundle-run', sha256: 'f'.repeat(64), size: 3, mode: '0755' }],
    excluded: [{ path: '/etc/passwd', reason: 'describes the build machine', root: '/' }],
    missing: [],
    conflicts: [],
    diagnostics: [],
    validation: { ok: true, checkedFiles: 3, issues: [] },
  };
}

describe('report data', () => {
  const data = buildReportData(manifest(), [], [{ root: '/cache/rootfs', layerBytes: 70 }]);

  it('carries an entry down the DT_NEEDED chain', () => {
    const entries = Object.fromEntries(data.files.map((f) => [f.path, f.entries]));
    expect(entries['payload/usr/lib/libonig.so.5']).toEqual(['jq']);
    expect(entries['payload/usr/share/misc/magic']).toEqual([]);
  });

  it('puts launchers in the runtime area and keeps what was excluded', () => {
    expect(data.files.find((f) => f.path === 'runtime/sidebundle-run')?.area).toBe('runtime');
    expect(data.excluded).toEqual([{ path: '/etc/passwd', root: '/', reason: 'describes the build machine' }]);
  });

  it('shows an image root with its shrink when the layer sizes are known', () => {
    expect(data.images).toEqual([{ root: '/cache/rootfs', source: 'docker://debian:12@sha256:abc', payload: 'payload-2', files: 1, bytes: 7, layerBytes: 70, ratio: 10 }]);
  });

  it('embeds the data so that no path can close the script element', () => {
    const hostile = manifest();
    hostile.files[0]!.path = 'payload/</script><img src=x onerror=alert(1)>';
    const html = renderReportHtml(buildReportData(hostile, []));
    expect(html).not.toContain('</script><img');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
});
