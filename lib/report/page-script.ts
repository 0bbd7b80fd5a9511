// The report page's own script (browser JavaScript, as text: the build has no DOM types). It
// reads the JSON data block, draws the treemap (squarify.ts, embedded by html.ts) and fills the
// tables. Everything from the data goes in through textContent, never as markup.
export const PAGE_SCRIPT = String.raw`
'use strict';
const data = JSON.parse(document.getElementById('report-data').textContent);
const SVG = 'http://www.w3.org/2000/svg';
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}
function bytes(n) {
  if (n < 1024) return n + ' B';
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return v.toFixed(1) + ' ' + units[u];
}

// ---- summary
function summary() {
  const t = data.totals, g = data.glibc;
  const list = el('ul');
  list.append(el('li', {}, 'files: ' + t.files + ' (' + bytes(t.bytes) + '; ' + bytes(t.storedBytes) + ' stored, each content once), symlinks: ' + t.symlinks));
  for (const e of data.entries) list.append(el('li', {}, 'entry ', el('b', {}, e.name), ': ' + e.kind + ', ' + e.program + ', run mode ' + e.runMode + (e.loader ? ', loader ' + e.loader : '')));
  list.append(el('li', {}, 'oldest glibc without the bundled loader: ', el('b', { id: 'glibc-floor' }, g.floor ? g.floor.replace('GLIBC_', 'glibc ') : 'any (no GLIBC_ version needed)')));
  list.append(el('li', {}, 'validation: ' + (data.validation.ok ? 'ok' : data.validation.issues.length + ' issue(s)')));
  document.getElementById('summary').append(list);
}

// ---- treemap
const VIEWS = {
  directory: { label: 'by directory', top: null },
  area: { label: 'payload / runtime', top: (f) => [f.area] },
  entry: { label: 'per entry', top: (f) => [f.entries.length === 0 ? 'shared collections' : f.entries.length === 1 ? 'entry ' + f.entries[0] : 'shared by ' + f.entries.join(', ')] },
  how: { label: 'per collection family', top: (f) => [f.how] },
};
function buildTree(view) {
  const root = { name: data.name, size: 0, children: new Map(), path: '' };
  for (const f of data.files) {
    const parts = (view.top ? view.top(f) : []).concat(f.path.split('/'));
    let node = root;
    node.size += f.size;
    for (let i = 0; i < parts.length; i++) {
      let next = node.children.get(parts[i]);
      if (!next) {
        next = { name: parts[i], size: 0, children: new Map(), path: node.path ? node.path + '/' + parts[i] : parts[i], file: i === parts.length - 1 ? f : null };
        node.children.set(parts[i], next);
      }
      next.size += f.size;
      node = next;
    }
  }
  return collapse(root);
}
// A directory with one child is shown as one box named by both ("payload/usr").
function collapse(node) {
  for (const child of node.children.values()) collapse(child);
  if (node.children.size === 1 && !node.file && node.path !== '') {
    const only = node.children.values().next().value;
    if (only.children.size > 0) {
      node.name = node.name + '/' + only.name;
      node.children = only.children;
      node.path = only.path;
    }
  }
  return node;
}
const W = 1200, H = 560, HEADER = 15, MAX_DEPTH = 7;
let currentView = 'directory', trail = [];
function drawTreemap() {
  const host = document.getElementById('treemap');
  host.textContent = '';
  const top = trail.length ? trail[trail.length - 1] : buildTree(VIEWS[currentView]);
  if (!trail.length) trail = [top];
  const map = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img', 'aria-label': 'treemap of the bundle by size' });
  const kids = [...top.children.values()].filter((c) => c.size > 0).sort((a, b) => b.size - a.size);
  const rects = squarify(kids.map((c) => c.size), 0, 0, W, H);
  kids.forEach((c, i) => drawNode(map, c, rects[i], 1, (i * 47) % 360));
  host.append(map);
  const crumbs = document.getElementById('crumbs');
  crumbs.textContent = '';
  trail.forEach((n, i) => {
    const b = el('button', { type: 'button' }, i === 0 ? data.name : n.name);
    b.addEventListener('click', () => { trail = trail.slice(0, i + 1); drawTreemap(); });
    crumbs.append(b, i < trail.length - 1 ? ' / ' : '');
  });
  crumbs.append(el('span', { class: 'muted' }, ' ' + bytes(top.size)));
}
function drawNode(parent, node, r, depth, hue) {
  const [x, y, w, h] = r;
  if (w < 1 || h < 1) return;
  const g = svg('g', {});
  const box = svg('rect', { x: x + 0.5, y: y + 0.5, width: Math.max(0, w - 1), height: Math.max(0, h - 1), fill: 'hsl(' + hue + ',55%,' + (86 - Math.min(depth, 6) * 6) + '%)', class: node.file ? 'leaf' : 'dir' });
  const title = svg('title', {});
  title.textContent = node.path + ' \u2014 ' + bytes(node.size) + (node.file ? '\n' + node.file.reasons.join('\n') : '');
  box.append(title);
  g.append(box);
  if (w > 50 && h > 13) {
    const label = svg('text', { x: x + 3, y: y + 11, class: 'label' });
    const text = node.name + ' ' + bytes(node.size), room = Math.floor((w - 6) / 6.2);
    label.textContent = text.length > room ? text.slice(0, Math.max(1, room - 1)) + '\u2026' : text;
    g.append(label);
  }
  g.addEventListener('click', (event) => {
    event.stopPropagation();
    if (node.file) { search.value = node.file.path; renderFiles(); document.getElementById('files').scrollIntoView(); return; }
    trail.push(node);
    drawTreemap();
  });
  parent.append(g);
  if (node.file || depth >= MAX_DEPTH || w < 30 || h < 30) return;
  const kids = [...node.children.values()].filter((c) => c.size > 0).sort((a, b) => b.size - a.size);
  const inner = squarify(kids.map((c) => c.size), x + 2, y + HEADER, w - 4, h - HEADER - 2);
  kids.forEach((c, i) => drawNode(parent, c, inner[i], depth + 1, hue));
}
function viewButtons() {
  const bar = document.getElementById('views');
  for (const [key, view] of Object.entries(VIEWS)) {
    const b = el('button', { type: 'button', 'data-view': key, 'aria-pressed': String(key === currentView) }, view.label);
    b.addEventListener('click', () => {
      currentView = key; trail = [];
      for (const other of bar.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === b));
      drawTreemap();
    });
    bar.append(b);
  }
}

// ---- files
const search = document.getElementById('search');
const ROW_LIMIT = 5000;
let sortKey = 'path';
function renderFiles() {
  const q = search.value.trim().toLowerCase();
  const words = q ? q.split(/\s+/) : [];
  const matching = data.files.filter((f) => words.every((w) => (f.path + ' ' + f.reasons.join(' ') + ' ' + f.entries.join(' ')).toLowerCase().includes(w)));
  matching.sort(sortKey === 'size' ? (a, b) => b.size - a.size : (a, b) => (a.path < b.path ? -1 : 1));
  const body = document.getElementById('file-rows');
  body.textContent = '';
  for (const f of matching.slice(0, ROW_LIMIT)) {
    const reasons = el('ul', { class: 'reasons' });
    for (const r of f.reasons) reasons.append(el('li', {}, r));
    body.append(el('tr', { 'data-path': f.path }, el('td', { class: 'path' }, f.path), el('td', { class: 'num' }, bytes(f.size)), el('td', {}, f.entries.join(', ')), el('td', {}, f.how), el('td', { class: 'reason' }, reasons)));
  }
  document.getElementById('file-count').textContent = matching.length + ' of ' + data.files.length + ' files' + (matching.length > ROW_LIMIT ? ' (first ' + ROW_LIMIT + ' shown: refine the search)' : '');
}

// ---- other tables
function table(id, head, rows, empty) {
  const host = document.getElementById(id);
  if (!rows.length) { host.append(el('p', { class: 'muted' }, empty)); return; }
  const t = el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))));
  const body = el('tbody');
  for (const r of rows) body.append(el('tr', {}, ...r.map((c) => el('td', {}, c))));
  t.append(body);
  host.append(t);
}
function glibc() {
  const g = data.glibc;
  const p = document.getElementById('glibc-summary');
  p.append(g.floor
    ? 'Run natively (the target\'s own libc, without the bundled loader), the bundle needs ' + g.floor + ' or newer, asked for by ' + g.floorNeededBy.join(', ') + '.'
    : 'No file asks for a GLIBC_ version.');
  if (g.glibcxx) p.append(' The newest libstdc++ version needed is ' + g.glibcxx + ' (' + g.glibcxxNeededBy.join(', ') + ').');
  table('glibc-table', ['file', 'newest GLIBC', 'GLIBC versions', 'GLIBCXX versions'],
    g.elfs.map((e) => [e.path + (e.isGlibc ? ' (part of glibc)' : ''), e.max || '', e.glibc.join(' '), e.glibcxx.join(' ')]), 'No ELF needs a GLIBC_ or GLIBCXX_ version.');
}
function images() {
  table('images-table', ['source image', 'root', 'files', 'bundled bytes', 'source layers', 'shrink'],
    data.images.map((i) => [i.source || '(unknown)', i.root, String(i.files), bytes(i.bytes), i.layerBytes === undefined ? 'not recorded in manifest.lock' : bytes(i.layerBytes), i.ratio === undefined ? 'unknown' : i.ratio.toFixed(1) + '\u00d7 smaller']),
    'No entry came from an image.');
}

summary();
viewButtons();
drawTreemap();
search.addEventListener('input', renderFiles);
for (const th of document.querySelectorAll('th[data-sort]')) th.addEventListener('click', () => { sortKey = th.getAttribute('data-sort'); renderFiles(); });
renderFiles();
table('excluded', ['path', 'root', 'why'], data.excluded.map((e) => [e.path, e.root, e.reason + (e.impact ? ' [' + e.impact + ']' : '')]), 'Nothing was left out.');
table('missing', ['library', 'root', 'needed through', 'why'], data.missing.map((m) => [m.name, m.root, m.chain.join(' \u2192 '), m.why || 'not found']), 'No library is missing.');
glibc();
images();
document.body.setAttribute('data-ready', 'true');
`;
