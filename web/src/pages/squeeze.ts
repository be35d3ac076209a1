import { Dataset, followJob, get, Job, post } from "../api";
import { bars } from "../charts";
import { errorBox, h, table } from "../dom";

export interface Artifact { id: string; kind: string; label: string; path: string; metadata: Record<string, unknown> }

// Runs one component as a job and resolves with the finished job (or rejects with its error).
export function runJob(kind: string, params: Record<string, unknown>, status: HTMLElement): Promise<Job> {
  return post<Job>("/api/jobs", { kind, params }).then((job) => new Promise((ok, fail) => {
    status.textContent = `${kind} job ${job.id} queued`;
    followJob(job.id, (e) => {
      if (e.type === "log") status.textContent = `${kind} job ${job.id}: ${String(e.line).trim()}`;
    }, (done) => (done.status === "done" ? ok(done) : fail(new Error(done.message))));
  }));
}

export function artifactOf(job: Job, output: string): string {
  const steps = (job.result["steps"] ?? []) as { artifacts: Record<string, string> }[];
  return steps[0]?.artifacts?.[output] ?? "";
}

// Float model -> int8 with calibration on a dataset; float vs int8 accuracy, per-layer SQNR.
export async function squeeze(page: HTMLElement): Promise<void> {
  const [models, datasets] = await Promise.all([
    get<Artifact[]>("/api/artifacts?kind=" + encodeURIComponent("float model")),
    get<Dataset[]>("/api/datasets"),
  ]);
  page.append(h("h1", {}, "Squeeze"));
  const model = h("select", { name: "model", "aria-label": "float model" },
    ...models.map((m) => h("option", { value: m.path }, `${m.label} (${String(m.metadata["macs"] ?? "?")} MACs)`)));
  const data = h("select", { name: "data", "aria-label": "dataset" },
    ...datasets.map((d) => h("option", { value: d.name }, `${d.name}@${d.latest_version}`)));
  const form = h("form", { id: "squeeze" }, model, " calibrated and evaluated on ", data,
    h("button", { type: "submit" }, "Quantize to int8"));
  const status = h("p", { id: "squeeze-status", role: "status" });
  const out = h("div", { id: "squeeze-result" });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    try {
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
      out.append(bars("per-layer SQNR (dB, higher is better)", sqnr.filter((r) => r.sqnr_db !== null).map((r) => [r.node.slice(0, 16), Math.round(r.sqnr_db!)])));
      out.append(h("p", { id: "int8-model" }, `int8 model: ${int8.id}`));
      status.textContent = "done";
      status.dataset.state = "done";
    } catch (e) {
      status.replaceChildren(errorBox(e));
      status.dataset.state = "failed";
    }
  });
  page.append(form, status, out);
}
