// Small SVG charts (no libraries): training curves, class balance, the sweep's
// Pareto plot, the arena over time and the lineage graph.
const NS = "http://www.w3.org/2000/svg";

export function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface Series { name: string; color: string; points: [number, number][] }

// yRange fixes the y axis (e.g. [0, 1] for accuracy); otherwise it fits the points.
export function lineChart(title: string, series: Series[], yLabel: string, yRange?: [number, number]): SVGSVGElement {
  const w = 420, h = 240, l = 50, r = 10, t = 24, b = 30;
  const svg = el("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title }) as SVGSVGElement;
  const pts = series.flatMap((s) => s.points);
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs, 1), x1 = Math.max(...xs, 2);
  const [y0, y1] = yRange ?? [Math.min(...ys, 0), Math.max(...ys, 1e-9)];
  const X = (v: number) => l + ((v - x0) / (x1 - x0 || 1)) * (w - l - r);
  const Y = (v: number) => h - b - ((v - y0) / (y1 - y0 || 1)) * (h - t - b);
  svg.append(el("text", { x: w / 2, y: 14, "text-anchor": "middle", "font-weight": "bold" }, title));
  svg.append(el("rect", { x: l, y: t, width: w - l - r, height: h - t - b, fill: "none", stroke: "#999" }));
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    svg.append(el("text", { x: l - 4, y: Y(v) + 4, "text-anchor": "end", "font-size": 10 }, v.toPrecision(3)));
  }
  svg.append(el("text", { x: 10, y: h / 2, "font-size": 10, transform: `rotate(-90 10 ${h / 2})` }, yLabel));
  svg.append(el("text", { x: w / 2, y: h - 4, "text-anchor": "middle", "font-size": 10 }, "epoch"));
  const step = Math.max(1, Math.ceil((x1 - x0) / 10));
  for (let v = Math.ceil(x0); v <= x1; v += step)
    svg.append(el("text", { x: X(v), y: h - b + 12, "text-anchor": "middle", "font-size": 10 }, String(v)));
  series.forEach((s, k) => {
    svg.append(el("polyline", { points: s.points.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), fill: "none", stroke: s.color, "stroke-width": 2, "data-series": s.name }));
    for (const p of s.points) svg.append(el("circle", { cx: X(p[0]), cy: Y(p[1]), r: 3, fill: s.color }));
    svg.append(el("text", { x: w - 110, y: t + 14 + 14 * k, fill: s.color, "font-size": 11 }, s.name));
  });
  return svg;
}

export function bars(title: string, rows: [string, number][]): SVGSVGElement {
  const w = 420, bar = 18, l = 110, h = 30 + bar * rows.length;
  const svg = el("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title }) as SVGSVGElement;
  const max = Math.max(1, ...rows.map((r) => r[1]));
  svg.append(el("text", { x: w / 2, y: 14, "text-anchor": "middle", "font-weight": "bold" }, title));
  rows.forEach(([label, v], i) => {
    const y = 24 + i * bar;
    svg.append(el("text", { x: l - 4, y: y + 12, "text-anchor": "end", "font-size": 11 }, label));
    svg.append(el("rect", { x: l, y: y + 2, width: ((w - l - 50) * v) / max, height: bar - 4, fill: "#1f77b4" }));
    svg.append(el("text", { x: l + ((w - l - 50) * v) / max + 4, y: y + 12, "font-size": 11 }, String(v)));
  });
  return svg;
}

export interface Point { label: string; x: number; y: number; highlight: boolean; hollow: boolean }

// Accuracy against instructions: the sweep's Pareto plot (highlighted: on the front).
export function scatter(title: string, points: Point[], xLabel: string, yLabel: string): SVGSVGElement {
  const w = 560, h = 300, l = 60, r = 150, t = 24, b = 36;
  const svg = el("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title }) as SVGSVGElement;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const x0 = Math.min(...xs) * 0.9, x1 = Math.max(...xs) * 1.1 || 1, y0 = Math.min(...ys) - 0.02, y1 = Math.max(...ys) + 0.02;
  const X = (v: number) => l + ((v - x0) / (x1 - x0 || 1)) * (w - l - r);
  const Y = (v: number) => h - b - ((v - y0) / (y1 - y0 || 1)) * (h - t - b);
  svg.append(el("text", { x: w / 2, y: 14, "text-anchor": "middle", "font-weight": "bold" }, title));
  svg.append(el("rect", { x: l, y: t, width: w - l - r, height: h - t - b, fill: "none", stroke: "#999" }));
  svg.append(el("text", { x: (w - r + l) / 2, y: h - 8, "text-anchor": "middle", "font-size": 10 }, xLabel));
  svg.append(el("text", { x: 12, y: h / 2, "font-size": 10, transform: `rotate(-90 12 ${h / 2})` }, yLabel));
  for (const p of points) {
    const color = p.highlight ? "#2ca02c" : "#1f77b4";
    svg.append(el("circle", { cx: X(p.x), cy: Y(p.y), r: 6, fill: p.hollow ? "none" : color, stroke: color, "stroke-width": 2 }));
    svg.append(el("text", { x: X(p.x) + 9, y: Y(p.y) + 4, "font-size": 10 }, p.label));
  }
  return svg;
}

export interface ArenaBuffer { offset: number; bytes: number; first: number; last: number }

// The arena over the layers: each buffer is a box from the layer that writes it
// to the last layer that reads it, at its offset; boxes never overlap.
export function arenaTimeline(title: string, buffers: ArenaBuffer[], arena: number, layers: string[]): SVGSVGElement {
  const w = 640, h = 300, l = 70, r = 10, t = 24, b = 60;
  const steps = Math.max(layers.length + 1, ...buffers.map((x) => x.last + 1));
  const svg = el("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title }) as SVGSVGElement;
  const X = (s: number) => l + (s / steps) * (w - l - r);
  const Y = (bytes: number) => h - b - (bytes / (arena || 1)) * (h - t - b);
  svg.append(el("text", { x: w / 2, y: 14, "text-anchor": "middle", "font-weight": "bold" }, title));
  svg.append(el("rect", { x: l, y: t, width: w - l - r, height: h - t - b, fill: "none", stroke: "#999" }));
  for (let i = 0; i <= 4; i++) {
    const v = Math.round((arena * i) / 4);
    svg.append(el("text", { x: l - 4, y: Y(v) + 4, "text-anchor": "end", "font-size": 10 }, String(v)));
  }
  svg.append(el("text", { x: 10, y: (h - b) / 2, "font-size": 10, transform: `rotate(-90 10 ${(h - b) / 2})` }, "arena offset (bytes)"));
  layers.forEach((name, i) => {
    const x = (X(i) + X(i + 1)) / 2;
    svg.append(el("text", { x, y: h - b + 12, "font-size": 9, "text-anchor": "end", transform: `rotate(-45 ${x} ${h - b + 12})` }, `${i} ${name}`));
  });
  buffers.forEach((x, i) => {
    const box = el("rect", {
      x: X(x.first), y: Y(x.offset + x.bytes), width: X(x.last + 1) - X(x.first),
      height: Y(x.offset) - Y(x.offset + x.bytes), fill: ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"][i % 5],
      "fill-opacity": 0.7, stroke: "#333", "stroke-width": 0.5, class: "arena-buffer",
    });
    box.append(el("title", {}, `${x.bytes} bytes at offset ${x.offset}, live from layer ${x.first} to ${x.last >= layers.length ? "the end" : x.last}`));
    svg.append(box);
  });
  return svg;
}

export interface GraphNode { id: string; kind: string; label: string }

// A lineage graph: artifacts in columns by depth (inputs left), edges parent -> child;
// every box links to that artifact's own lineage, the focus is drawn bold.
export function lineageGraph(title: string, nodes: GraphNode[], edges: { parent: string; child: string }[], focus: string, href: (id: string) => string): SVGSVGElement {
  const parents = new Map<string, string[]>();
  for (const e of edges) parents.set(e.child, [...(parents.get(e.child) ?? []), e.parent]);
  const depth = new Map<string, number>();
  const d = (id: string, guard: number): number => {
    if (depth.has(id)) return depth.get(id)!;
    const ps = guard < 64 ? (parents.get(id) ?? []).filter((p) => nodes.some((n) => n.id === p)) : [];
    const v = ps.length ? 1 + Math.max(...ps.map((p) => d(p, guard + 1))) : 0;
    depth.set(id, v);
    return v;
  };
  const cols: GraphNode[][] = [];
  for (const n of nodes) (cols[d(n.id, 0)] ??= []).push(n);
  const bw = 190, bh = 36, gx = 40, gy = 10;
  const rows = Math.max(1, ...cols.map((c) => c?.length ?? 0));
  const w = cols.length * (bw + gx) + 20, h = 30 + rows * (bh + gy);
  const at = new Map<string, [number, number]>();
  cols.forEach((c, i) => c?.forEach((n, k) => at.set(n.id, [10 + i * (bw + gx), 30 + k * (bh + gy)])));
  const svg = el("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title }) as SVGSVGElement;
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" });
  marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#999" }));
  const defs = el("defs", {});
  defs.append(marker);
  svg.append(defs, el("text", { x: 10, y: 16, "font-weight": "bold" }, title));
  for (const e of edges) {
    const p = at.get(e.parent), c = at.get(e.child);
    if (p && c) svg.append(el("line", { x1: p[0] + bw, y1: p[1] + bh / 2, x2: c[0], y2: c[1] + bh / 2, stroke: "#999", "marker-end": "url(#arrow)", class: "lineage-edge" }));
  }
  for (const n of nodes) {
    const [x, y] = at.get(n.id)!;
    const a = el("a", { href: href(n.id), class: "lineage-node", "data-id": n.id, "aria-label": `${n.kind}: ${n.label}` });
    a.append(el("title", {}, `${n.id}\n${n.label}`));
    a.append(el("rect", { x, y, width: bw, height: bh, rx: 4, fill: n.id === focus ? "#fff3c4" : "#eef3f8", stroke: n.id === focus ? "#b8860b" : "#7a8fa6", "stroke-width": n.id === focus ? 2.5 : 1 }));
    a.append(el("text", { x: x + 5, y: y + 14, "font-size": 10, fill: "#555" }, n.kind));
    a.append(el("text", { x: x + 5, y: y + 29, "font-size": 11 }, n.label.length > 30 ? n.label.slice(0, 29) + "…" : n.label));
    svg.append(a);
  }
  return svg;
}
