import { get } from "../api";
import { errorBox, h, table } from "../dom";

interface Artifact { id: string; kind: string; label: string }
interface Graph { focus: string; text: string; nodes: Artifact[]; edges: { parent: string; child: string }[] }

// Every artifact; one's lineage as the chain and trees the CLI prints, plus its edges.
export async function lineage(page: HTMLElement, id?: string): Promise<void> {
  page.append(h("h1", {}, "Lineage"));
  if (id) {
    try {
      const g = await get<Graph>(`/api/artifacts/${encodeURIComponent(id)}/lineage`);
      page.append(h("pre", { id: "lineage-text" }, g.text));
      page.append(table(["parent", "child"], g.edges.map((e) => [e.parent, e.child])));
    } catch (e) {
      page.append(errorBox(e));
    }
  }
  const all = await get<Artifact[]>("/api/artifacts");
  page.append(h("h2", {}, "Artifacts"));
  page.append(table(["id", "kind", "label"], all.map((a) => [
    h("a", { href: `#/lineage/${encodeURIComponent(a.id)}` }, a.id), a.kind, a.label,
  ])));
}
