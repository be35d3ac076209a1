import { Dataset, get, Job } from "../api";
import { chart } from "../charts";
import { card, empty, h, pageHead, table } from "../dom";
import { Artifact, artifactOf, onSubmit, runJob } from "../jobs";

// Float model -> int8 with calibration on a dataset; float vs int8 accuracy, per-layer SQNR.
export async function squeeze(page: HTMLElement): Promise<void> {
  const [models, datasets] = await Promise.all([
    get<Artifact[]>("/api/artifacts?kind=" + encodeURIComponent("float model")),
    get<Dataset[]>("/api/datasets"),
  ]);
  page.append(...pageHead("Squeeze", "Quantize a float model to int8, calibrated on a dataset; compare float and int8 accuracy and each layer's signal-to-quantization-noise ratio."));
  if (!models.length) {
    page.append(card("", {}, empty("No float model yet.", "Train one on the Train page or with", "tinymlaas train --model SPEC.yaml --data NAME@VERSION")));
    return;
  }
  const model = h("select", { name: "model", "aria-label": "float model" },
    ...models.map((m) => h("option", { value: m.path }, `${m.label} (${String(m.metadata["macs"] ?? "?")} MACs)`)));
  const data = h("select", { name: "data", "aria-label": "dataset" },
    ...datasets.map((d) => h("option", { value: d.name }, `${d.name}@${d.latest_version}`)));
  const form = h("form", { id: "squeeze" }, model, " calibrated and evaluated on ", data,
    h("button", { type: "submit" }, "Quantize to int8"));
  const status = h("p", { id: "squeeze-status", role: "status" });
  const out = h("div", { id: "squeeze-result" });
  onSubmit(form, status, async () => {
    out.replaceChildren();
      const q = await runJob("quantize", { model: model.value, calibration: `${data.value}@train` }, status);
      const int8 = await get<Artifact>(`/api/artifacts/${encodeURIComponent(artifactOf(q, "model"))}`);
      const evalOf = (path: string) => runJob("evaluate", { model: path, data: `${data.value}@test` }, status);
      const [f, i] = [await evalOf(model.value), await evalOf(int8.path)];
      const acc = (j: Job) => Number(((j.result["steps"] as { outputs: Record<string, string> }[])[0]).outputs["accuracy"]);
      const fm = models.find((m) => m.path === model.value)!;
      out.append(table(["", "float", "int8"], [
        ["test accuracy", `${(100 * acc(f)).toFixed(2)} %`, `${(100 * acc(i)).toFixed(2)} %`],
        ["weights (bytes)", String(fm.metadata["weight_bytes"]), String(int8.metadata["weight_bytes"])],
      ]));
      const sqnr = (int8.metadata["sqnr"] ?? []) as { node: string; sqnr_db: number | null }[];
      out.append(await chart({ kind: "bars", title: "per-layer SQNR (higher is better)", unit: " dB", rows: sqnr.filter((r) => r.sqnr_db !== null).map((r) => [r.node, Math.round(r.sqnr_db!)]) }));
      out.append(h("p", { id: "int8-model" }, `int8 model: ${int8.id}`));
  });
  page.append(card("Quantize", {}, form, status), card("Result", {}, out));
}
