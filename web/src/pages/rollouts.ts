import { get, post } from "../api";
import type { Artifact, Rollout } from "../api";
import { badge, card, empty, errorBox, h, pageHead, table, when, whileShown } from "../dom";
import { onSubmit } from "../jobs";

// Which buttons a rollout in this state has (ControlRollout's transitions).
const actions: Record<string, string[]> = {
  running: ["pause", "halt", "rollback"],
  paused: ["resume", "halt", "rollback"],
  halted: ["resume", "rollback"],
  done: ["rollback"],
};

// Rollouts: the list with a form to start one, and a rollout's page with its stages'
// progress, its devices, and pause / resume / halt / rollback. A running
// `tinymlaas control` carries them out; these pages follow it live.
export async function rollouts(page: HTMLElement, id?: string): Promise<void> {
  if (id) return rollout(page, Number(id));
  page.append(...pageHead("Rollouts", "A model to a group in stages (a canary, then percentages), each advancing when its devices are healthy and halting on failed installs, resets, latency, confidence or a shadow stage's disagreement."));
  const models = (await get<Artifact[]>("/api/artifacts")).filter((a) => a.path && (a.kind === "int8 model" || a.kind === "model package"));
  const model = h("input", { name: "model", required: "", list: "rollout-models", size: "48", "aria-label": "model: an artifact id or a file" });
  const form = h("form", { id: "new-rollout", "aria-label": "Start a rollout" },
    h("datalist", { id: "rollout-models" }, ...models.map((m) => h("option", { value: m.id }, m.label))),
    h("label", {}, "Model ", model),
    h("label", {}, " Group ", h("input", { name: "group", required: "", size: "10" })),
    h("label", {}, " Stages % ", h("input", { name: "stages", value: "25,100", size: "10" })),
    h("label", {}, " Canary ", h("input", { name: "canary", size: "10", placeholder: "count or ids" })),
    h("br"),
    h("label", {}, "Halt on ", h("input", { name: "halt_on", size: "40", placeholder: "failed=0,resets=0,latency=3,disagreement=10" })),
    h("label", {}, " ", h("input", { name: "shadow", type: "checkbox" }), " shadow stage"),
    h("label", {}, " ", h("input", { name: "rollback_on_halt", type: "checkbox" }), " roll back on halt"),
    h("label", {}, " ", h("input", { name: "profile_latency", type: "checkbox" }), " profile latency (QEMU)"),
    h("label", {}, " Reference ", h("input", { name: "reference", size: "16", placeholder: "DATASET@V@test" })),
    h("button", { type: "submit" }, "Start rollout"));
  const status = h("p", { id: "new-rollout-status", role: "status" });
  onSubmit(form, status, async () => {
    const f = new FormData(form);
    const body: Record<string, unknown> = { model: String(f.get("model")), group: String(f.get("group")) };
    for (const k of ["stages", "canary", "halt_on", "reference"]) if (f.get(k)) body[k] = String(f.get(k));
    for (const k of ["shadow", "rollback_on_halt", "profile_latency"]) body[k] = f.get(k) === "on";
    status.textContent = "packaging the model and fixing the cohorts ...";
    const r = await post<Rollout>("/api/rollouts", body);
    location.hash = `#/rollouts/${r.id}`;
    return `rollout ${r.id} started`;
  });
  page.append(card("Start a rollout", {}, form, status));
  const list = h("div", { id: "rollouts" });
  page.append(card("Rollouts", {}, list));
  const draw = async () => {
    const all = await get<Rollout[]>("/api/rollouts");
    list.replaceChildren(all.length
      ? table(["rollout", "group", "status", "stage", "model", "message"], all.map((r) => [
        h("a", { href: `#/rollouts/${r.id}` }, `#${r.id}`), r.group, badge(r.status), `${r.stage} of ${r.stages.length}`, r.model, r.message,
      ]))
      : empty("No rollouts yet.", "Start one above, or with", "tinymlaas rollout create MODEL --group G"));
  };
  await draw();
  whileShown(3000, draw);
}

async function rollout(page: HTMLElement, id: number): Promise<void> {
  const first = await get<Rollout>(`/api/rollouts/${id}`);
  page.append(...pageHead(`Rollout ${id}`, `${first.model} to group ${first.group}, version ${String((first.plan as Record<string, unknown>)["version"] ?? "?")}.`));
  const state = h("p", { id: "rollout-state", role: "status", "aria-live": "polite" });
  const buttons = h("div", { class: "actions", id: "rollout-actions" });
  const stages = h("div", { id: "stages" });
  const devices = h("div", { id: "rollout-devices" });
  const said = h("p", { id: "action-status", role: "status" });
  page.append(card("", {}, state, buttons, said), card("Stages", {}, stages), card("Devices", {}, devices));
  let shown = "";
  const draw = async (r?: Rollout) => {
    r = r ?? (await get<Rollout>(`/api/rollouts/${id}`));
    state.replaceChildren(badge(r.status), ` stage ${r.stage} of ${r.stages.length}: ${r.message}`);
    state.dataset.status = r.status;
    if (shown !== r.status) {  // rebuilt only when the state changes: focus stays put
      shown = r.status;
      buttons.replaceChildren(...(actions[r.status] ?? []).map((a) => {
        const b = h("button", { type: "button", class: a === "pause" || a === "resume" ? "secondary" : "", "data-action": a }, a[0].toUpperCase() + a.slice(1));
        b.addEventListener("click", async () => {
          try {
            const after = await post<Rollout>(`/api/rollouts/${id}/${a}`, {});
            said.textContent = `${a}: now ${after.status}`;
            await draw(after);
          } catch (e) {
            said.replaceChildren(errorBox(e));
          }
        });
        return b;
      }));
    }
    stages.replaceChildren(...r.stages.map((s) => {
      const counts = s.status as Record<string, number>;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const healthy = counts["healthy"] ?? 0;
      const parts = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
      return h("div", { class: "stage", "data-stage": String(s.stage) },
        h("strong", {}, `Stage ${s.stage}`),
        h("meter", { min: "0", max: String(Math.max(total, 1)), value: String(healthy), "aria-label": `stage ${s.stage}: ${healthy} of ${total} healthy` }),
        `${healthy} of ${total} healthy (${parts || "no devices"})`);
    }));
    devices.replaceChildren(table(["device", "stage", "status", "attempts", "installed", "shadow", "message"], (r.devices ?? []).map((d) => {
      const sh = d.shadow as Record<string, number> | null;
      return [h("a", { href: `#/fleet/${encodeURIComponent(d.device)}` }, d.device), String(d.stage), badge(d.status), String(d.attempts), when(d.installed_ms),
        sh ? `${sh["samples"] ?? 0} samples, ${(100 * (sh["agreement"] ?? 0)).toFixed(0)} % agree` : "", d.message];
    })));
  };
  await draw(first);
  whileShown(1500, () => draw());
}
