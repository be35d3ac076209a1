import { get } from "../api";
import { ArenaBuffer, chart } from "../charts";
import { badge, card, empty, h, pageHead, table } from "../dom";
import { Artifact, artifactOf, onSubmit, runJob } from "../jobs";

import type { Target } from "../api";
interface Layer { op: string; name: string; macs: number; instructions?: number; arena_offset: number; activation_bytes: number }

function budget(label: string, used: number, total: number): HTMLElement {
  const pct = Math.min(100, (100 * used) / total);
  return h("div", { class: "budget" }, `${label}: ${used} of ${total} bytes (${pct.toFixed(1)} %) `,
    h("meter", { min: "0", max: String(total), value: String(used), high: String(total * 0.9), "aria-label": label }));
}

// A model built for a board and measured on the emulated board: fit verdict, per-layer table.
export async function compile(page: HTMLElement): Promise<void> {
  const [models, targets] = await Promise.all([
    get<Artifact[]>("/api/artifacts?kind=" + encodeURIComponent("int8 model")),
    get<Target[]>("/api/targets"),
  ]);
  page.append(...pageHead("Compile", "Generate C for a board, build the firmware and run it on the emulated board: does it fit, how many instructions per inference, where the memory goes."));
  if (!models.length) {
    page.append(card("", {}, empty("No int8 model yet.", "Quantize a float model on the Squeeze page or with", "tinymlaas quantize MODEL.onnx --calibration NAME@VERSION@train")));
    return;
  }
  const model = h("select", { name: "model", "aria-label": "int8 model" },
    ...models.map((m) => h("option", { value: m.path }, m.label)));
  const target = h("select", { name: "target", "aria-label": "target board" },
    ...targets.filter((t) => t.emulated).map((t) => h("option", { value: t.name }, `${t.name} (${t.board})`)));
  const form = h("form", { id: "compile" }, model, " for ", target, h("button", { type: "submit" }, "Compile and measure"));
  const status = h("p", { id: "compile-status", role: "status" });
  const out = h("div", { id: "compile-result" });
  onSubmit(form, status, async () => {
    out.replaceChildren();
      const job = await runJob("compile", { model: model.value, target: target.value }, status);
      const fw = await get<Artifact>(`/api/artifacts/${encodeURIComponent(artifactOf(job, "firmware"))}`);
      const m = fw.metadata as Record<string, number | boolean | string | Layer[]>;
      const fits = Boolean(m["fits"]);
      out.append(h("p", {}, badge(fits ? "yes" : "no"), " ", h("span", { id: "verdict", class: fits ? "ok" : "error" },
        `${fits ? "Fits" : "Does not fit"} ${String(m["board"])}: ${m["instructions"]} instructions per inference (~${Number(m["latency_ms"]).toFixed(2)} ms)`)));
      out.append(h("p", {}, h("a", { id: "firmware-lineage", href: `#/lineage/${encodeURIComponent(fw.id)}` }, `Lineage of this firmware (${fw.id.slice(0, 21)}…)`)));
      out.append(budget("flash", Number(m["flash_bytes"]), Number(m["board_flash_bytes"])));
      out.append(budget("RAM", Number(m["ram_bytes"]), Number(m["board_ram_bytes"])));
      const layers = (m["layers"] ?? []) as Layer[];
      const buffers = (m["arena_buffers"] ?? []) as unknown as ArenaBuffer[];
      out.append(h("h2", {}, "Arena memory timeline"),
        h("figure", { id: "arena-timeline" }, await chart({ kind: "arena", title: `arena: ${m["arena_bytes"]} bytes (no plan can use less than ${m["arena_lower_bound_bytes"]})`, buffers, arena_bytes: Number(m["arena_bytes"]), layers: layers.map((l) => l.op) }),
          h("figcaption", {}, "Each box is a buffer: from the layer that writes it to the last layer that reads it, at its offset in the arena.")));
      out.append(h("h2", {}, "Per layer"), table(["#", "op", "MACs", "instructions", "arena offset", "output bytes"],
        layers.map((l, i) => [String(i), l.op, String(l.macs), String(l.instructions ?? ""), String(l.arena_offset), String(l.activation_bytes)])));
  });
  page.append(card("Build and measure", {}, form, status), card("Result", {}, out));
}
