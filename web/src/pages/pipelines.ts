import { get } from "../api";
import { chart } from "../charts";
import { badge, card, empty, h, pageHead, table } from "../dom";
import { onSubmit, runJob } from "../jobs";

interface Row {
  model: string; squeeze: string; target: string; float_accuracy: number; int8_accuracy: number;
  device_accuracy: number | null; macs: number; instructions: number; ram_bytes: number;
  flash_bytes: number; fits: boolean; pareto: boolean; best: boolean;
}
import type { Run } from "../api";

const pct = (v: number | null) => (v === null ? "-" : (100 * v).toFixed(2));

async function sweepView(rows: Row[]): Promise<HTMLElement> {
  return h("div", { id: "sweep" },
    table(["model", "squeeze", "target", "float %", "int8 %", "board %", "MACs", "instructions", "RAM", "flash", "fits"],
      rows.map((r) => [r.model, r.squeeze, r.target, pct(r.float_accuracy), pct(r.int8_accuracy), pct(r.device_accuracy),
        String(r.macs), String(r.instructions), String(r.ram_bytes), String(r.flash_bytes),
        `${r.fits ? "yes" : "NO"}${r.pareto ? ", Pareto" : ""}${r.best ? ", best" : ""}`])),
    await chart({
      kind: "scatter", title: "accuracy vs instructions", legend: "green: Pareto front; hollow: does not fit; thick: best",
      points: rows.map((r) => ({ label: `${r.model}/${r.squeeze}`, x: r.instructions, y: r.int8_accuracy, highlight: r.pareto, hollow: !r.fits, bold: r.best })),
      x_label: "instructions per inference (fewer is better)", y_label: "int8 accuracy",
    }));
}

// Pipelines and sweeps: run one from YAML, see its steps, results table, Pareto plot, report.
export async function pipelines(page: HTMLElement): Promise<void> {
  page.append(...pageHead("Pipelines and sweeps", "Run the lifecycle as a YAML pipeline: unchanged steps come from the cache; a sweep compares models, squeezes and boards on one table and its Pareto front."));
  const yaml = h("textarea", { name: "yaml", rows: "14", cols: "90", "aria-label": "pipeline YAML", spellcheck: "false" });
  yaml.value = "name: my-pipeline\nsteps: []\n";
  const form = h("form", { id: "pipeline" }, yaml, h("br"), h("button", { type: "submit" }, "Run pipeline"));
  const status = h("p", { id: "pipeline-status", role: "status" });
  const out = h("div", { id: "pipeline-result" });
  onSubmit(form, status, async () => {
    out.replaceChildren();
      const job = await runJob("pipeline", { yaml: yaml.value }, status);
      const res = job.result as { run: number; steps: { step: string; component: string; cached: boolean; seconds: number }[]; sweep?: Row[] };
      out.append(table(["step", "component", "status", "seconds"],
        res.steps.map((s) => [s.step, s.component, s.cached ? "cached" : "ran", s.seconds.toFixed(1)])));
      if (res.sweep) out.append(await sweepView(res.sweep));
      out.append(h("p", {}, h("a", { id: "report", href: `/api/runs/${res.run}/report`, target: "_blank" }, `Report of run ${res.run}`)));
  });
  page.append(card("Run a pipeline", {}, form, status), card("Result", {}, out));
  const runs = await get<Run[]>("/api/runs?kind=pipeline");
  page.append(card("Pipeline runs", { id: "pipeline-runs" }, runs.length
    ? table(["run", "pipeline", "status", "steps", "cached", "seconds", "report"],
      runs.slice().reverse().map((r) => [String(r.id), r.config.name ?? "", badge(r.status), String(r.metrics.steps ?? ""), String(r.metrics.cached ?? ""), (r.duration_ms / 1000).toFixed(1),
        h("a", { href: `/api/runs/${r.id}/report`, target: "_blank" }, "report")]))
    : empty("No pipeline runs yet.", "Run one above, or from a shell:", "tinymlaas run examples/fashion-mnist.yaml")));
}
