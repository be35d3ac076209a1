// Charts are drawn by the server with the same code as the HTML reports
// (POST /api/charts, src/core/svg_chart.h): one chart implementation for both. The
// answer is SVG, parsed here and put into the page (its text is escaped by the server;
// the parser runs no script).
import { drawChart } from "./api";

export interface Series { name: string; color?: string; points: [number, number | null][] }
export interface Point { label: string; x: number; y: number; tooltip?: string; size?: number; highlight?: boolean; hollow?: boolean; bold?: boolean }
export interface ArenaBuffer { offset: number; bytes: number; first: number; last: number }
export interface GraphNode { id: string; kind: string; label: string }

export type ChartSpec =
  | { kind: "line"; title: string; series: Series[]; x_label?: string; y_label?: string; y_range?: [number, number]; integer_x?: boolean }
  | { kind: "bars"; title: string; rows: [string, number][]; unit?: string }
  | { kind: "scatter"; title: string; points: Point[]; x_label?: string; y_label?: string; legend?: string }
  | { kind: "arena"; title: string; buffers: ArenaBuffer[]; arena_bytes: number; layers: string[] }
  | { kind: "lineage"; title: string; nodes: GraphNode[]; edges: { parent: string; child: string }[]; focus?: string; link_prefix?: string };

export async function chart(spec: ChartSpec): Promise<SVGSVGElement> {
  const text = await drawChart(spec);
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") throw new Error(`the ${spec.kind} chart '${spec.title}' could not be drawn`);
  return document.importNode(svg, true) as unknown as SVGSVGElement;
}
