import { Dataset, get, patch, upload } from "../api";
import { chart } from "../charts";
import { card, empty, errorBox, h, pageHead, table } from "../dom";

import type { DatasetStats, SamplePage, UploadResult } from "../api";

export async function data(page: HTMLElement, name?: string): Promise<void> {
  const datasets = await get<Dataset[]>("/api/datasets");
  page.append(...pageHead("Data", "Versioned datasets: every upload or relabel makes a new version; training names the version it used."));
  page.append(card("Datasets", { id: "datasets" }, datasets.length
    ? table(["dataset", "latest version"], datasets.map((d) => {
      const a = h("a", { href: `#/data/${encodeURIComponent(d.name)}` }, d.name);
      return [a, String(d.latest_version)];
    }))
    : empty("No datasets yet.", "Upload images below, or import IDX files or class folders with", "tinymlaas data import NAME --folder DIR")));
  // Upload: files with one label for all, into a new or existing dataset.
  const form = h("form", { id: "upload", "aria-label": "Upload images" },
    h("label", {}, "Dataset ", h("input", { name: "dataset", required: "", value: name ?? "", pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" })),
    h("label", {}, " Label ", h("input", { name: "label", required: "" })),
    h("label", {}, " Images ", h("input", { name: "files", type: "file", multiple: "", accept: "image/png,image/jpeg", required: "" })),
    h("button", { type: "submit" }, "Upload"));
  const status = h("p", { id: "upload-status", role: "status" });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = new FormData();
    for (const file of f.getAll("files")) body.append("files", file);
    body.append("label", String(f.get("label")));
    try {
      const r = await upload<UploadResult>(`/api/datasets/${encodeURIComponent(String(f.get("dataset")))}/samples`, body);
      status.textContent = `Added ${r.added} images: version ${r.version.number}.`;
      location.hash = `#/data/${encodeURIComponent(String(f.get("dataset")))}?v=${r.version.number}`;
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  page.append(card("Upload", {}, form, status));
  if (!name) return;
  const stats = await get<DatasetStats>(`/api/datasets/${encodeURIComponent(name)}/versions/latest/stats`);
  page.append(card(`${name}: class balance`, { id: "balance" },
    await chart({ kind: "bars", title: "samples per class", rows: stats.classes.map((c) => [c.label, c.train + c.val + c.test]) })));
  const samples = await get<SamplePage>(`/api/datasets/${encodeURIComponent(name)}/versions/latest/samples?limit=60`);
  const grid = h("div", { class: "grid", id: "samples" });
  for (const s of samples.samples) {
    const img = h("img", { src: `/api/samples/${s.sample}/image.png`, alt: `${s.label} (${s.split})` });
    const label = h("input", { value: s.label, "aria-label": `label of sample ${s.sample.slice(0, 8)}`, size: "8" });
    label.addEventListener("change", async () => {
      try {
        await patch(`/api/datasets/${encodeURIComponent(name)}/samples/${s.sample}`, { label: label.value });
        label.classList.add("ok");
      } catch (e) {
        label.after(errorBox(e));
      }
    });
    grid.append(h("figure", {}, img, h("figcaption", {}, label)));
  }
  page.append(card(`Samples (${samples.total})`, {}, ...(samples.total
    ? [h("p", {}, h("a", { href: `#/label/${encodeURIComponent(name)}`, id: "open-labeler" }, "Label one at a time, by keyboard"), " (captured samples start at the first unlabeled one)."), grid]
    : [empty("This version has no samples.", "Upload images above.")])));
}
