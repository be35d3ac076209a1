import { get } from "../api";
import { lineageGraph } from "../charts";
import { errorBox, h, table } from "../dom";

import type { Artifact, Lineage } from "../api";

// Every artifact; one's lineage as a drawn graph, and as the chain and trees the CLI prints.
export async function lineage(page: HTMLElement, id?: string): Promise<void> {
  page.append(h("h1", {}, "Lineage"));
  const all = get<Artifact[]>("/api/artifacts");
  if (id) {
    try {
      const g = await get<Lineage>(`/api/artifacts/${encodeURIComponent(id)}/lineage`);
      const link = (a: string) => `#/lineage/${encodeURIComponent(a)}`;
      page.append(h("figure", { id: "lineage-graph" },
        lineageGraph(`lineage of ${g.focus}`, g.nodes, g.edges, g.focus, link),
        h("figcaption", {}, "Made from (left) and made into (right); select a box for its own lineage.")));
      page.append(h("details", {}, h("summary", {}, "As text"), h("pre", { id: "lineage-text" }, g.text)));
    } catch (e) {
      page.append(errorBox(e));
    }
  }
  page.append(h("h2", {}, "Artifacts"));
  page.append(table(["id", "kind", "label"], (await all).map((a) => [
    h("a", { href: `#/lineage/${encodeURIComponent(a.id)}` }, a.id), a.kind, a.label,
  ])));
}
