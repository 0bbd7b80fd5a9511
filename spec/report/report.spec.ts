// The report of a real bundle, opened in headless Chromium: the DOM after the page's script ran
// (a known file's reason, the treemap's rectangles), a screenshot that is not blank, and no
// console error from the page. Skips, saying so, where chromium is not installed.
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, readFileSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';

import { createBundle, runCli } from '../helpers/cli';
import { decodePng, distinctColours } from '../helpers/png';
import { tempDir } from '../helpers/tmp';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const describeWithChromium = chromium ? describe : describe.skip;
if (!chromium) console.warn('spec/report/report.spec.ts: SKIPPED, chromium is not installed (apt-get install chromium)');

function openInChromium(url: string, extra: string[], work: string): { stdout: string; stderr: string } {
  const result = spawnSync(chromium!, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
    `--user-data-dir=${path.join(work, `profile-${extra[0]!.replace(/\W/g, '')}`)}`, '--enable-logging=stderr', '--v=0', ...extra, url,
  ], { encoding: 'utf8', timeout: 60000, maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr };
}

/** The page's console messages, as Chromium logs them with --enable-logging=stderr. */
const consoleLines = (stderr: string, url: string) => stderr.split('\n').filter((l) => l.includes(':CONSOLE') && l.includes(url));

describeWithChromium('the report in headless Chromium', () => {
  const work = tempDir('sb-report-');
  const bundle = createBundle(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', work, '--run-mode', 'host']);
  const written = runCli(['report', bundle.dir, '--json']);
  const reportPath = path.join(work, 'jq.report.html');
  const url = `file://${reportPath}`;

  it('is written beside the bundle, not inside it', () => {
    expect(written.status).toBe(0);
    expect(JSON.parse(written.stdout).report.path).toBe(reportPath);
    expect(existsSync(path.join(bundle.dir, 'report.html'))).toBe(false);
    expect(runCli(['verify', bundle.dir]).status).toBe(0);
  });

  it('needs nothing from the network: no external script, style or image', () => {
    const html = readFileSync(reportPath, 'utf8');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).toContain("default-src 'none'");
  });

  describe('its DOM after the script ran', () => {
    const dom = openInChromium(url, ['--dump-dom'], work);
    const row = (file: string) => new RegExp(`<tr data-path="[^"]*/${file.replace(/\./g, '\\.')}">(.*?)</tr>`).exec(dom.stdout)?.[1] ?? '';

    it('says libc.so.6 is needed by the entry program jq', () => {
      expect(dom.stdout).toContain('data-ready="true"');
      expect(row('libc.so.6')).toContain('needed by /usr/bin/jq (entry jq)');
    });

    it('draws the treemap: an SVG with a rectangle per file and directory', () => {
      const rects = (dom.stdout.match(/<rect /g) ?? []).length;
      expect(rects).toBeGreaterThan(bundle.files as number);
    });

    it('names the oldest glibc jq runs on natively, at least what readelf says jq itself needs', () => {
      const readelf = spawnSync('readelf', ['-V', '--wide', '/usr/bin/jq'], { encoding: 'utf8' }).stdout;
      const jqMax = [...readelf.matchAll(/Name: GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!).pop()!;
      const floor = /id="glibc-floor">glibc (\d+)\.(\d+)</.exec(dom.stdout);
      expect(floor).not.toBeNull();
      expect(Number(floor![1]) * 1000 + Number(floor![2])).toBeGreaterThanOrEqual(jqMax[0]! * 1000 + jqMax[1]!);
    });

    it('logs no console message from the page', () => {
      expect(consoleLines(dom.stderr, url)).toEqual([]);
    });
  });

  it('renders a screenshot that is not blank', () => {
    const shot = path.join(work, 'report.png');
    const run = openInChromium(url, [`--screenshot=${shot}`, '--window-size=1280,900'], work);
    expect(consoleLines(run.stderr, url)).toEqual([]);
    const pixels = decodePng(readFileSync(shot));
    expect([pixels.width, pixels.height]).toEqual([1280, 900]);
    // A blank page is 1 colour, text alone a few dozen grey shades; the treemap adds its hues.
    expect(distinctColours(pixels)).toBeGreaterThan(100);
  });

  it('catches a page error the way the assertions above rely on', () => {
    // The oracle itself: a report whose script throws must show up in the console lines.
    const broken = path.join(work, 'broken.html');
    require('node:fs').writeFileSync(broken, readFileSync(reportPath, 'utf8').replace("document.body.setAttribute('data-ready', 'true');", 'notDefined();'));
    const run = openInChromium(`file://${broken}`, ['--dump-dom'], work);
    expect(consoleLines(run.stderr, `file://${broken}`).join('\n')).toContain('notDefined');
  });
});

describe('create --report', () => {
  it('writes NAME.report.html beside the bundle and names it in the result', () => {
    const out = tempDir('sb-create-report-');
    const bundle = createBundle(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out, '--report']);
    expect(bundle.report).toBe(path.join(out, 'jq.report.html'));
    const html = readFileSync(path.join(out, 'jq.report.html'), 'utf8');
    expect(html).toContain('<script type="application/json" id="report-data">');
    expect(runCli(['verify', bundle.dir]).status).toBe(0);
  });
});

describe('report --out', () => {
  it('refuses a path inside the bundle (exit 2), even through a link, and writes nothing there', () => {
    const out = tempDir('sb-report-out-');
    const bundle = createBundle(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out]);
    symlinkSync(path.join(bundle.dir, 'payload'), path.join(out, 'into-payload'));
    const program = path.join(bundle.dir, 'payload/usr/bin/jq');
    const before = readFileSync(program);
    const intoNewDir = path.join(out, 'into-payload/new-dir/page.html'); // a directory it would make there
    for (const target of [program, path.join(bundle.dir, 'manifest.lock'), path.join(bundle.dir, 'new.html'), path.join(out, 'into-payload/usr/bin/jq'), intoNewDir]) {
      const r = runCli(['report', bundle.dir, '--out', target]);
      expect({ target, status: r.status, stderr: r.stderr }).toEqual({ target, status: 2, stderr: expect.stringMatching(/error\[REPORT_INSIDE_BUNDLE\]: .* is inside the bundle /) });
    }
    expect(readFileSync(program)).toEqual(before);
    expect(runCli(['verify', bundle.dir]).status).toBe(0);
  });

  it('makes the directories of its path; one below a file is an output error naming --out, not a vanished path', () => {
    const out = tempDir('sb-report-dirs-');
    const bundle = createBundle(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out]);
    const target = path.join(out, 'pages/2026/jq.html');
    expect(runCli(['report', bundle.dir, '--out', target]).status).toBe(0);
    expect(readFileSync(target, 'utf8')).toMatch(/^<!doctype html>/i);
    const r = runCli(['report', bundle.dir, '--out', path.join(bundle.dir, '..', 'pages/2026/jq.html/x.html')]);
    expect(r.stderr).toMatch(/error\[OUTPUT_NOT_A_DIRECTORY\]: cannot write the report .*x\.html: .*\n {2}hint: .* is not a directory; choose another --out path/);
    expect(r.status).toBe(2);
  });

  it('replaces a hard link at its path instead of writing through it', () => {
    const out = tempDir('sb-report-link-');
    const bundle = createBundle(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', out]);
    const target = path.join(out, 'page.html');
    linkSync(path.join(bundle.dir, 'manifest.lock'), target);
    expect(runCli(['report', bundle.dir, '--out', target]).status).toBe(0);
    expect(readFileSync(target, 'utf8')).toMatch(/^<!doctype html>/i);
    expect(runCli(['verify', bundle.dir]).status).toBe(0);
  });
});
