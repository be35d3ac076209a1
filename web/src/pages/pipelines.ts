import { get } from "../api";
import { scatter } from "../charts";
import { h, table } from "../dom";
import { onSubmit, runJob } from "../jobs";

interface Row {
  model: string; squeeze: string; target: string; float_accuracy: number; int8_accuracy: number;
  device_accuracy: number | null; macs: number; instructions: number; ram_bytes: number;
  flash_bytes: number; fits: boolean; pareto: boolean; best: boolean;
}
import type { Run } from "../api";

const pct = (v: number | null) => (v === null ? "-" : (100 * v).toFixed(2));

function sweepView(rows: Row[]): HTMLElement {
  return h("div", { id: "sweep" },
    table(["model", "squeeze", "target", "float %", "int8 %", "board %", "MACs", "instructions", "RAM", "flash", "fits"],
      rows.map((r) => [r.model, r.squeeze, r.target, pct(r.float_accuracy), pct(r.int8_accuracy), pct(r.device_accuracy),
        String(r.macs), String(r.instructions), String(r.ram_bytes), String(r.flash_bytes),
        `${r.fits ? "yes" : "NO"}${r.pareto ? ", Pareto" : ""}${r.best ? ", best" : ""}`])),
    scatter("accuracy vs instructions (green: Pareto front, hollow: does not fit)",
      rows.map((r) => ({ label: `${r.model}/${r.squeeze}`, x: r.instructions, y: r.int8_accuracy, highlight: r.pareto, hollow: !r.fits })),
      "instructions per inference", "int8 accuracy"));
}

// Pipelines and sweeps: run one from YAML, see its steps, results table, Pareto plot, report.
export async function pipelines(page: HTMLElement): Promise<void> {
  page.append(h("h1", {}, "Pipelines and sweeps"));
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
      if (res.sweep) out.append(sweepView(res.sweep));
      out.append(h("p", {}, h("a", { id: "report", href: `/api/runs/${res.run}/report`, target: "_blank" }, `Report of run ${res.run}`)));
  });
  page.append(form, status, out);
  const runs = await get<Run[]>("/api/runs?kind=pipeline");
  page.append(h("h2", {}, "Pipeline runs"), table(["run", "pipeline", "status", "steps", "cached", "seconds"],
    runs.slice().reverse().map((r) => [String(r.id), r.config.name ?? "", r.status, String(r.metrics.steps ?? ""), String(r.metrics.cached ?? ""), (r.duration_ms / 1000).toFixed(1)])));
}
