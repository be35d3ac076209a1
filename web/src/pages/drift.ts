import { get } from "../api";
import type { Alert, Drift, Rollout } from "../api";
import { chart } from "../charts";
import { badge, card, empty, h, pageHead, table, when } from "../dom";
import { onSubmit } from "../jobs";

// Drift per model: the live class and confidence histograms of a group's devices
// against the model's evaluation (population stability index; above 0.25 a significant
// shift), of a rollout made with a reference or of a model on an evaluation set; and
// the alerts drift checks recorded (`tinymlaas drift`).
export async function drift(page: HTMLElement): Promise<void> {
  page.append(...pageHead("Drift", "What devices answer now against what the model answered on its evaluation set, by population stability index (below 0.1 stable, above 0.25 a significant shift)."));
  const withRef = (await get<Rollout[]>("/api/rollouts")).filter((r) => (r.plan as Record<string, unknown>)["reference"]);
  const form = h("form", { id: "drift-form", "aria-label": "Measure drift" },
    h("label", {}, "Rollout ", h("select", { name: "rollout" }, h("option", { value: "" }, "(a model instead)"),
      ...withRef.map((r) => h("option", { value: String(r.id) }, `#${r.id} ${r.group}: ${r.model}`)))),
    h("label", {}, " or model ", h("input", { name: "model", size: "24", placeholder: "artifact id or file" })),
    h("label", {}, " on ", h("input", { name: "data", size: "14", placeholder: "DATASET@V@test" })),
    h("label", {}, " group ", h("input", { name: "group", size: "8" })),
    h("label", {}, " last ", h("input", { name: "since_s", type: "number", min: "60", value: "3600", size: "6" }), " s"),
    h("button", { type: "submit" }, "Measure"));
  const status = h("p", { id: "drift-status", role: "status" });
  const out = h("div", { id: "drift-result" });
  onSubmit(form, status, async () => {
    const f = new FormData(form);
    const q = new URLSearchParams({ since_s: String(f.get("since_s") || 3600) });
    for (const k of f.get("rollout") ? ["rollout"] : ["model", "data", "group"]) q.set(k, String(f.get(k) ?? ""));
    status.textContent = "measuring ...";
    const d = await get<Drift>(`/api/drift?${q}`);
    const group = d.devices.find((x) => x.subject.startsWith("group:"));
    const rows = d.devices.filter((x) => x.judged).map((x) => [x.subject, Math.max(x.psi_classes, x.psi_confidence)] as [string, number]);
    const classes = d.reference.predicted.length;
    const share = (v: number[]) => {
      const n = v.reduce((a, b) => a + b, 0) || 1;
      return Array.from({ length: Math.max(classes, v.length) }, (_, i) => [i, (v[i] ?? 0) / n] as [number, number]);
    };
    out.replaceChildren(
      card("", {}, table(["subject", "inferences", "mean confidence", "PSI classes", "PSI confidence", "verdict"], d.devices.map((x) => [
        x.subject, String(x.inferences), x.confidence_mean.toFixed(3), x.psi_classes.toFixed(3), x.psi_confidence.toFixed(3),
        x.judged ? badge(x.drift ? "drift" : "stable") : "too few to tell",
      ]))),
      h("div", { class: "cards" },
        card("", {}, rows.length ? await chart({ kind: "bars", title: `PSI per device (threshold ${d.threshold})`, rows }) : empty("Nothing judged yet.", "Devices need 30 inferences in the window.")),
        card("", {}, group && group.inferences ? await chart({ kind: "line", title: "share of answers per class", x_label: "class", integer_x: true, y_range: [0, 1], series: [
          { name: `evaluation (${d.reference.source})`, points: share(d.reference.predicted) },
          { name: `live (${group.subject})`, points: share(group.classes) }] }) : empty("No live answers yet.", ""))));
    return `${d.drifting} drifting against ${d.reference.source}`;
  });
  const alerts = await get<Alert[]>("/api/alerts");
  page.append(card("Measure", {}, form, status), out, card("Alerts", { id: "drift-alerts" }, alerts.length
    ? table(["alert", "when", "subject", "message"], alerts.map((a) => [`#${a.id}`, when(a.created_ms), a.subject, a.message]))
    : empty("No alerts.", "`tinymlaas drift` records one for each drifting device or group.")));
}
