import { Dataset, followJob, get, Job, post, Spec } from "../api";
import { chart, Series } from "../charts";
import { card, empty, errorBox, h, pageHead } from "../dom";
import { onSubmit } from "../jobs";

// Start a training job from a zoo spec or an uploaded one and watch its curves update
// from the job's events.
export async function train(page: HTMLElement): Promise<void> {
  const [specs, datasets] = await Promise.all([get<Spec[]>("/api/specs"), get<Dataset[]>("/api/datasets")]);
  page.append(...pageHead("Train", "Train a model spec on a dataset version; the curves update after every epoch."));
  const option = (s: Spec) => h("option", { value: s.file }, `${s.name}${s.uploaded ? " (uploaded)" : ""}: ${(s.macs / 1e6).toFixed(2)} M MACs, input ${s.input.join("x")}, ${s.classes} classes`);
  const spec = h("select", { name: "spec", "aria-label": "model spec" }, ...specs.map(option));
  const data = h("select", { name: "data", "aria-label": "dataset" },
    ...datasets.map((d) => h("option", { value: d.name }, `${d.name}@${d.latest_version}`)));
  const epochs = h("input", { name: "epochs", type: "number", min: "1", max: "100", value: "3", "aria-label": "epochs" });
  const batch = h("input", { name: "batch", type: "number", min: "1", max: "1024", value: "32", "aria-label": "batch size" });
  const form = h("form", { id: "train" }, spec, " on ", data, " epochs ", epochs, " batch ", batch, h("button", { type: "submit" }, "Start training"));
  const status = h("p", { id: "train-status", role: "status" });
  const charts = h("div", { id: "curves", class: "cards" }, empty("No curves yet.", "Start a training job: its loss and accuracy appear here after the first epoch."));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const job = await post<Job>("/api/jobs", { kind: "train", params: { spec: spec.value, data: data.value, epochs: Number(epochs.value), batch: Number(batch.value) } });
      status.textContent = `Job ${job.id} queued.`;
      const loss: Series = { name: "train loss", points: [] };
      const acc: Series = { name: "val acc", color: "#dc2626", points: [] };
      // Redrawn after every epoch; a slow answer never replaces a newer drawing.
      let asked = 0, shown = 0;
      const redraw = async () => {
        const mine = ++asked;
        const drawn = await Promise.all([
          chart({ kind: "line", title: "loss", series: [loss], x_label: "epoch", y_label: "cross-entropy", integer_x: true }),
          chart({ kind: "line", title: "validation accuracy", series: [acc], x_label: "epoch", y_label: "fraction", y_range: [0, 1], integer_x: true }),
        ]);
        if (mine < shown) return;
        shown = mine;
        charts.replaceChildren(...drawn);
      };
      followJob(job.id, (e) => {
        if (e.type === "epoch") {
          loss.points.push([Number(e.epoch), Number(e.train_loss)]);
          acc.points.push([Number(e.epoch), Number(e.val_acc)]);
          redraw().catch((err) => charts.replaceChildren(errorBox(err)));
          status.textContent = `Job ${job.id}: epoch ${e.epoch}/${e.epochs}`;
        } else if (e.type === "log") {
          status.textContent = `Job ${job.id}: ${String(e.line).trim()}`;
        }
      }, (done) => {
        status.textContent = `Job ${done.id} ${done.status}: ${done.message}`;
        status.dataset.state = done.status;
      });
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  // A spec of one's own: checked by the server (errors name the line), then selected.
  const file = h("input", { type: "file", name: "spec-file", accept: ".yaml,.yml", "aria-label": "model spec file (YAML)", required: "" });
  const specForm = h("form", { id: "spec-upload" }, "Or upload a spec: ", file, h("button", { type: "submit", class: "secondary" }, "Upload spec"));
  const specStatus = h("p", { id: "spec-status", role: "status" });
  onSubmit(specForm, specStatus, async () => {
    const chosen = file.files?.[0];
    if (!chosen) throw new Error("choose a YAML file first");
    const s = await post<Spec>("/api/specs", { yaml: await chosen.text() });
    if (![...spec.options].some((o) => o.value === s.file)) spec.append(option(s));
    spec.value = s.file;
    return `Spec ${s.name} uploaded and selected: ${(s.macs / 1e6).toFixed(2)} M MACs.`;
  });
  page.append(card("New training job", {}, form, specForm, specStatus, status), card("Curves", {}, charts));
}
