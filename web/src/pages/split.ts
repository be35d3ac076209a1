import { Dataset, get } from "../api";
import type { Chain } from "../api";
import { chart } from "../charts";
import { badge, card, empty, h, pageHead, table } from "../dom";
import { Artifact, artifactOf, onSubmit, runJob } from "../jobs";

interface CutNode { node: string; layers: string[]; seconds: number; joules: number; ram_bytes: number; flash_bytes: number }
interface CutLink { from: string; to: string; profile: string; tensors: string[]; bytes: number; seconds: number; joules: number }
interface Cut { nodes: CutNode[]; links: CutLink[]; latency_s: number; energy_j: number; device_energy_j: number; fits: boolean; refused?: string }
interface Partition { model: string; objective: string; exact: boolean; search: string; cut_count: number; cuts: Cut[]; best: Cut; chain: { name: string; nodes: { name: string; target: string; ram_bytes: number; flash_bytes: number; costs: string }[] } }
interface CascadePoint { threshold: number; offload_rate: number; accuracy: number; latency_s: number; energy_j: number; device_energy_j: number }
interface CascadeCurve { samples: number; small: { node: string; accuracy: number }; big: { node: string; accuracy: number }; offload_bytes: number; points: CascadePoint[] }

const ms = (s: number) => `${(1e3 * s).toFixed(2)} ms`;
const mj = (j: number) => `${(1e3 * j).toFixed(4)} mJ`;
const bytes = (b: number) => (b >= 10240 ? `${(b / 1024).toFixed(1)} KB` : `${b} B`);
const sameCut = (a: Cut, b: Cut) => a.nodes.every((n, i) => n.layers.join() === b.nodes[i].layers.join());

// The chain with the chosen cut: each node with what it runs and its budgets, each link
// with the tensors that cross it.
function chainView(p: Partition): HTMLElement {
  const parts: HTMLElement[] = [];
  p.best.nodes.forEach((n, i) => {
    const spec = p.chain.nodes[i];
    const budget = (what: string, used: number, total: number) =>
      h("div", {}, `${what} ${bytes(used)}${total > 0 ? ` of ${bytes(total)}` : ""}`);
    parts.push(h("div", { class: "chain-node", role: "listitem", "aria-label": `node ${n.node}` },
      h("strong", {}, n.node), h("div", { class: "muted" }, spec.target),
      h("div", { class: "chain-layers" }, `${n.layers.length} layer${n.layers.length === 1 ? "" : "s"}`),
      h("div", {}, ms(n.seconds)), budget("RAM", n.ram_bytes, spec.ram_bytes), budget("flash", n.flash_bytes, spec.flash_bytes)));
    const l = p.best.links[i];
    if (l) parts.push(h("div", { class: "chain-link", role: "listitem", "aria-label": `link ${l.from} to ${l.to}` },
      h("div", {}, l.profile), h("div", { class: "chain-arrow", "aria-hidden": "true" }, "→"),
      h("div", {}, l.bytes ? `${bytes(l.bytes)}, ${ms(l.seconds)}` : "nothing sent"),
      h("div", { class: "muted" }, l.tensors.join(", "))));
  });
  return h("div", { id: "split-chain", class: "chain", role: "list" }, ...parts);
}

function cutTable(p: Partition): HTMLElement {
  const nodes = p.chain.nodes.map((n) => n.name);
  const links = p.best.links.map((l) => `${l.from}→${l.to}`);
  const rows = p.cuts.map((c, i) => [
    String(i + 1) + (sameCut(c, p.best) ? " (best)" : ""),
    ...c.nodes.map((n) => ms(n.seconds)),
    ...c.links.map((l) => (l.bytes ? `${bytes(l.bytes)} ${ms(l.seconds)}` : "-")),
    ms(c.latency_s), mj(c.energy_j), mj(c.device_energy_j),
    c.nodes.map((n) => n.layers.length).join("/"),
    c.fits ? badge("fits") : h("span", { class: "error" }, `refused: ${c.refused ?? ""}`),
  ]);
  const t = table(["cut", ...nodes, ...links, "latency", "energy", "device energy", "layers", "budgets"], rows);
  t.id = "split-cuts";
  return t;
}

async function cascadeView(c: CascadeCurve): Promise<HTMLElement> {
  const pts = (f: (p: CascadePoint) => number) => c.points.map((p) => [100 * p.offload_rate, f(p)] as [number, number]);
  const curve = await chart({
    kind: "line", title: `accuracy against offload rate (${c.samples} samples)`, x_label: "offloaded to the big model (%)", y_label: "accuracy (%)",
    series: [{ name: "cascade", points: pts((p) => 100 * p.accuracy) }],
  });
  const rows = c.points.map((p) => [p.threshold > 1 ? "always" : p.threshold.toFixed(2), `${(100 * p.offload_rate).toFixed(1)} %`,
    `${(100 * p.accuracy).toFixed(2)} %`, ms(p.latency_s), mj(p.energy_j), mj(p.device_energy_j)]);
  const t = table(["threshold", "offload", "accuracy", "latency", "energy", "device energy"], rows);
  t.id = "cascade-points";
  return h("div", {}, h("p", {}, `small on ${c.small.node}: ${(100 * c.small.accuracy).toFixed(2)} %; big on ${c.big.node}: ${(100 * c.big.accuracy).toFixed(2)} %; an offload sends ${bytes(c.offload_bytes)}`),
    h("figure", { id: "cascade-curve" }, curve), t);
}

// A model cut across a node chain (MCU -> gateway -> cloud): the chosen cut, every cut's
// cost, and a cascade of a small and a big model.
export async function split(page: HTMLElement): Promise<void> {
  const [models, chains, datasets] = await Promise.all([
    get<Artifact[]>("/api/artifacts?kind=" + encodeURIComponent("int8 model")),
    get<Chain[]>("/api/chains"),
    get<Dataset[]>("/api/datasets"),
  ]);
  page.append(...pageHead("Split", "Cut a model across a chain of nodes: each layer measured on each node (QEMU instructions on the MCU, timed on the host), the bytes crossing each link, budgets enforced; the best cut and one sub-model per node. A cascade answers on the MCU when the small model is confident and sends the sample upstream otherwise."));
  if (!models.length || !chains.length) {
    page.append(card("", {}, empty(models.length ? "No chain file found." : "No int8 model yet.", "Quantize a model on the Squeeze page, or split one with", "tinymlaas split MODEL --chain mcu-gateway-cloud")));
    return;
  }
  const modelSelect = (name: string, label: string) => h("select", { name, "aria-label": label }, ...models.map((m) => h("option", { value: m.path }, m.label)));
  const chainSelect = () => h("select", { name: "chain", "aria-label": "node chain" },
    ...chains.map((c) => h("option", { value: c.name }, `${c.name}: ${c.nodes.map((n) => `${n.name} (${n.target})`).join(" → ")}`)));
  const model = modelSelect("model", "int8 model"), chain = chainSelect();
  const objective = h("select", { name: "objective", "aria-label": "objective" },
    ...["latency", "energy", "device-energy"].map((o) => h("option", { value: o }, o)));
  const form = h("form", { id: "split" }, model, " over ", chain, " minimizing ", objective, h("button", { type: "submit" }, "Find the best cut"));
  const status = h("p", { id: "split-status", role: "status" });
  const out = h("div", { id: "split-result" });
  onSubmit(form, status, async () => {
    out.replaceChildren();
    const job = await runJob("split", { model: model.value, chain: chain.value, objective: objective.value }, status);
    const a = await get<Artifact>(`/api/artifacts/${encodeURIComponent(artifactOf(job, "partition"))}`);
    const p = a.metadata as unknown as Partition;
    out.append(h("h2", {}, "The chosen cut"), chainView(p),
      h("p", { id: "split-best" }, `best by ${p.objective}: ${ms(p.best.latency_s)} end to end, ${mj(p.best.energy_j)}, device ${mj(p.best.device_energy_j)}`),
      h("h2", {}, `Cuts (${p.cuts.length < p.cut_count ? `the first ${p.cuts.length} of ${p.cut_count}` : `all ${p.cut_count}`}; ${p.search})`), cutTable(p),
      h("p", { class: "muted" }, "Costs: ", ...p.chain.nodes.map((n) => `${n.name}: ${n.costs}. `)),
      h("p", {}, h("a", { href: `#/lineage/${encodeURIComponent(a.id)}` }, "Lineage of this split")));
  });
  const small = modelSelect("small", "small model"), big = modelSelect("big", "big model"), cchain = chainSelect();
  if (models.length > 1) big.selectedIndex = 1;
  const data = h("select", { name: "data", "aria-label": "dataset" }, ...datasets.map((d) => h("option", { value: d.name }, `${d.name}@${d.latest_version}`)));
  const samples = h("input", { name: "samples", type: "number", min: "1", value: "200", "aria-label": "samples" });
  const cform = h("form", { id: "cascade" }, small, " on the first node, ", big, " on the last, over ", cchain, " on ", data, " ", samples, " samples ",
    h("button", { type: "submit" }, "Sweep the threshold"));
  const cstatus = h("p", { id: "cascade-status", role: "status" });
  const cout = h("div", { id: "cascade-result" });
  onSubmit(cform, cstatus, async () => {
    cout.replaceChildren();
    const job = await runJob("cascade", { small: small.value, big: big.value, chain: cchain.value, data: `${data.value}@test`, samples: Number(samples.value) }, cstatus);
    const a = await get<Artifact>(`/api/artifacts/${encodeURIComponent(artifactOf(job, "curve"))}`);
    cout.append(await cascadeView(a.metadata as unknown as CascadeCurve));
  });
  page.append(card("Split", {}, form, status), card("Result", {}, out),
    card("Cascade", {}, datasets.length ? cform : empty("No dataset yet.", "Import one on the Data page."), cstatus, cout));
}
