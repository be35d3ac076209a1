import { get } from "../api";
import { chart } from "../charts";
import { card, empty, errorBox, h, pageHead, table } from "../dom";

import type { Artifact, Lineage } from "../api";

// Every artifact; one's lineage as a drawn graph, and as the chain and trees the CLI prints.
export async function lineage(page: HTMLElement, id?: string): Promise<void> {
  page.append(...pageHead("Lineage", "Where every artifact came from and what was made from it: datasets, runs, models, firmware."));
  const all = get<Artifact[]>("/api/artifacts");
  if (id) {
    try {
      const g = await get<Lineage>(`/api/artifacts/${encodeURIComponent(id)}/lineage`);
      page.append(card("", {}, h("figure", { id: "lineage-graph" },
        await chart({ kind: "lineage", title: `lineage of ${g.focus}`, nodes: g.nodes, edges: g.edges, focus: g.focus, link_prefix: "#/lineage/" }),
        h("figcaption", {}, "Made from (left) and made into (right); select a box for its own lineage.")),
        h("details", {}, h("summary", {}, "As text"), h("pre", { id: "lineage-text" }, g.text))));
    } catch (e) {
      page.append(errorBox(e));
    }
  }
  const list = await all;
  page.append(card("Artifacts", { id: "artifacts" }, list.length
    ? table(["id", "kind", "label"], list.map((a) => [
      h("a", { href: `#/lineage/${encodeURIComponent(a.id)}` }, a.id), a.kind, a.label,
    ]))
    : empty("No artifacts yet.", "Every dataset version, model, evaluation and firmware the workspace makes is listed here.")));
}
