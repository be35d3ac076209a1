import { get, patch } from "../api";
import type { SamplePage, VersionResult } from "../api";
import { card, empty, errorBox, h, pageHead } from "../dom";

// Labeling, one sample at a time and by keyboard alone: digit keys give the class of
// that number (1 the first, 0 the tenth), the arrow keys (or j / k) move, "n" types a
// new class. Each label is a new version of the dataset (the annotation's author is
// the logged-in user); captured samples come labeled by the model or unlabeled.
export async function label(page: HTMLElement, name?: string): Promise<void> {
  if (!name) {
    page.append(...pageHead("Label", "Pick a dataset on the Data page, then Label."), empty("No dataset chosen.", "Open a dataset on", "#/data"));
    return;
  }
  const enc = encodeURIComponent(name);
  const all = await get<SamplePage>(`/api/datasets/${enc}/versions/latest/samples?limit=1000`);
  page.append(...pageHead(`Label ${name}`, "Keys: 1-9 and 0 pick a class, ← → (or j k) move, n types a new class. Every label makes a new version."));
  if (!all.samples.length) {
    page.append(card("", {}, empty("This version has no samples.", "Capture some from devices with", "tinymlaas capture --dataset " + name)));
    return;
  }
  let classes = all.version.classes;
  const samples = all.samples;
  let at = Math.max(0, samples.findIndex((s) => !s.label));
  const img = h("img", { alt: "" });
  const where = h("p", { id: "label-position" });
  const current = h("p", { id: "label-current" });
  const said = h("p", { id: "label-said", role: "status", "aria-live": "polite" });
  const keys = h("div", { class: "keys actions", role: "group", "aria-label": "classes" });
  const fresh = h("input", { id: "new-class", "aria-label": "a new class", size: "12", placeholder: "new class (n)" });
  const view = h("section", { class: "card labeler", id: "labeler", tabindex: "0", "aria-label": "the sample to label; keys: digits, arrows, n" },
    img, h("div", {}, where, current, keys, fresh, said));
  page.append(view);
  const show = () => {
    const s = samples[at];
    img.src = `/api/samples/${s.sample}/image.png`;
    img.alt = `sample ${s.sample.slice(0, 8)} (${s.split})`;
    where.textContent = `sample ${at + 1} of ${samples.length} (${s.split})`;
    current.textContent = s.label ? `labeled ${s.label}` : "unlabeled";
    keys.replaceChildren(...classes.map((c, i) => {
      const b = h("button", { type: "button", class: "secondary", "aria-pressed": String(c === s.label), "data-class": c }, i < 10 ? `${(i + 1) % 10} ${c}` : c);
      b.addEventListener("click", () => void apply(c));
      return b;
    }));
  };
  const apply = async (c: string) => {
    const s = samples[at];
    try {
      const r = await patch<VersionResult>(`/api/datasets/${enc}/samples/${s.sample}`, { label: c });
      s.label = c;
      classes = r.version.classes;
      said.textContent = `sample ${at + 1} labeled ${c} (version ${r.version.number})`;
      if (at + 1 < samples.length) at += 1;
      show();
    } catch (e) {
      said.replaceChildren(errorBox(e));
    }
  };
  const move = (d: number) => {
    at = Math.min(samples.length - 1, Math.max(0, at + d));
    show();
  };
  view.addEventListener("keydown", (ev) => {
    if (ev.target === fresh) return;
    if (/^[0-9]$/.test(ev.key)) {
      const i = ev.key === "0" ? 9 : Number(ev.key) - 1;
      if (i < classes.length) void apply(classes[i]);
    } else if (ev.key === "ArrowRight" || ev.key === "j") move(1);
    else if (ev.key === "ArrowLeft" || ev.key === "k") move(-1);
    else if (ev.key === "n") fresh.focus();
    else return;
    ev.preventDefault();
  });
  fresh.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && fresh.value.trim()) {
      ev.preventDefault();
      void apply(fresh.value.trim()).then(() => { fresh.value = ""; view.focus(); });
    } else if (ev.key === "Escape") view.focus();
  });
  show();
  view.focus();
}
