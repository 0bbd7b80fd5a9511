// The squarified treemap layout (Bruls, Huizing, van Wijk 2000): rows of rectangles laid along
// the shorter side, each row kept while adding a value does not worsen its worst aspect ratio.
// Self-contained on purpose: the report page embeds this function's source (Function#toString),
// so it must not reference anything outside its own body.

/** Lay `values` (sorted largest first, all > 0) into the rectangle; returns [x, y, w, h] each. */
export function squarify(values: number[], x: number, y: number, w: number, h: number): number[][] {
  const out: number[][] = [];
  const total = values.reduce((a, b) => a + b, 0);
  if (values.length === 0 || total <= 0 || w <= 0 || h <= 0) return values.map(() => [x, y, 0, 0]);
  const scale = (w * h) / total;
  const areas = values.map((v) => v * scale);
  const worst = (row: number[], side: number): number => {
    const sum = row.reduce((a, b) => a + b, 0);
    let max = 0;
    for (const a of row) {
      const r = Math.max((side * side * a) / (sum * sum), (sum * sum) / (side * side * a));
      if (r > max) max = r;
    }
    return max;
  };
  let i = 0;
  while (i < areas.length) {
    const side = Math.min(w, h);
    const row = [areas[i]!];
    let j = i + 1;
    while (j < areas.length && worst([...row, areas[j]!], side) <= worst(row, side)) row.push(areas[j++]!);
    const sum = row.reduce((a, b) => a + b, 0);
    // The row fills the shorter side; its thickness is what its area needs.
    if (w >= h) {
      const thick = sum / h;
      let at = y;
      for (const a of row) {
        out.push([x, at, thick, a / thick]);
        at += a / thick;
      }
      x += thick;
      w -= thick;
    } else {
      const thick = sum / w;
      let at = x;
      for (const a of row) {
        out.push([at, y, a / thick, thick]);
        at += a / thick;
      }
      y += thick;
      h -= thick;
    }
    i = j;
  }
  return out;
}
