// Small SVG charts (no libraries): line charts for training curves, bars for class balance.
const NS = "http://www.w3.org/2000/svg";

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface Series { name: string; color: string; points: [number, number][] }

export function lineChart(title: string, series: Series[], yLabel: string): SVGSVGElement {
  const w = 420, h = 240, l = 50, r = 10, t = 24, b = 30;
  const svg = el("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title }) as SVGSVGElement;
  const pts = series.flatMap((s) => s.points);
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs, 1), x1 = Math.max(...xs, 2), y0 = Math.min(...ys, 0), y1 = Math.max(...ys, 1e-9);
  const X = (v: number) => l + ((v - x0) / (x1 - x0 || 1)) * (w - l - r);
  const Y = (v: number) => h - b - ((v - y0) / (y1 - y0 || 1)) * (h - t - b);
  svg.append(el("text", { x: w / 2, y: 14, "text-anchor": "middle", "font-weight": "bold" }, title));
  svg.append(el("rect", { x: l, y: t, width: w - l - r, height: h - t - b, fill: "none", stroke: "#999" }));
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    svg.append(el("text", { x: l - 4, y: Y(v) + 4, "text-anchor": "end", "font-size": 10 }, v.toPrecision(3)));
  }
  svg.append(el("text", { x: 10, y: h / 2, "font-size": 10, transform: `rotate(-90 10 ${h / 2})` }, yLabel));
  svg.append(el("text", { x: w / 2, y: h - 6, "text-anchor": "middle", "font-size": 10 }, "epoch"));
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
