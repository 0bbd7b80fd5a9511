// The report as one HTML file: inline CSS and script, the data as a JSON block, no network
// (its Content-Security-Policy allows nothing but what is inline), so it opens offline.
import type { ReportData } from './data';
import { PAGE_SCRIPT } from './page-script';
import { squarify } from './squarify';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 .3em; } h2 { font-size: 1.15em; margin: 1.6em 0 .4em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; vertical-align: top; padding: 2px 6px; border-bottom: 1px solid #eee; }
th[data-sort] { cursor: pointer; text-decoration: underline dotted; }
td.num { text-align: right; white-space: nowrap; } td.path { font-family: ui-monospace, monospace; word-break: break-all; }
ul.reasons { margin: 0; padding-left: 1.1em; } .muted { color: #777; }
#views button[aria-pressed=true] { background: #1d1d1f; color: #fff; }
button { font: inherit; margin: 0 .3em .3em 0; border: 1px solid #aaa; background: #f5f5f5; border-radius: 3px; cursor: pointer; }
#treemap svg { display: block; border: 1px solid #ccc; } #treemap rect { stroke: #fff; stroke-width: 1; cursor: pointer; }
#treemap text.label { font-size: 11px; pointer-events: none; fill: #111; }
#search { width: 40em; max-width: 100%; font: inherit; padding: 3px; }
`;

/** JSON that cannot close its <script> element or break the script's parse. */
function embeddedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderReportHtml(data: ReportData): string {
  const title = `sidebundle report: ${escapeHtml(data.name)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${title}</h1>
<p class="muted">${escapeHtml(data.generator)}; everything below is read from the bundle's manifest.lock and its ELF files.</p>
<section id="summary"></section>
<h2>Where the bytes are</h2>
<div id="views"></div>
<div id="crumbs"></div>
<div id="treemap"></div>
<h2 id="files">Files and why each is there</h2>
<p><input id="search" type="search" placeholder="filter: path, reason or entry words" aria-label="filter files"> <span id="file-count"></span></p>
<table><thead><tr><th data-sort="path">path</th><th data-sort="size">size</th><th>entries</th><th>collected as</th><th>why</th></tr></thead><tbody id="file-rows"></tbody></table>
<h2>Left out, and why</h2>
<div id="excluded"></div>
<h2>Missing libraries</h2>
<div id="missing"></div>
<h2>glibc versions needed</h2>
<p id="glibc-summary"></p>
<div id="glibc-table"></div>
<h2>Against the source image</h2>
<div id="images-table"></div>
<script type="application/json" id="report-data">${embeddedJson(data)}</script>
<script>
${squarify.toString()}
${PAGE_SCRIPT}
</script>
</body>
</html>
`;
}
