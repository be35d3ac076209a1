import { get, patch } from "../api";
import type { Box, SamplePage, VersionResult } from "../api";
import { card, empty, errorBox, h, pageHead } from "../dom";

const SVG = "http://www.w3.org/2000/svg";
function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// Labeling, one sample at a time and by keyboard alone. Labels: digit keys give the
// class of that number (1 the first, 0 the tenth), the arrow keys (or j / k) move, "n"
// types a new class. Boxes: "b" starts one (or drag with the mouse), the arrows move it,
// Shift+arrows resize it, a digit picks its class, Enter keeps it, Escape drops it,
// Delete removes the sample's last box. Every change is a new version of the dataset
// (the annotation's author is the logged-in user); captured samples come labeled by
// the model or unlabeled.
export async function label(page: HTMLElement, name?: string): Promise<void> {
  if (!name) {
    page.append(...pageHead("Label", "Pick a dataset on the Data page, then Label."), empty("No dataset chosen.", "Open a dataset on", "#/data"));
    return;
  }
  const enc = encodeURIComponent(name);
  const all = await get<SamplePage>(`/api/datasets/${enc}/versions/latest/samples?limit=1000`);
  page.append(...pageHead(`Label ${name}`, "Labels: 1-9 and 0 pick a class, ← → (or j k) move, n types a new class. Boxes: b starts one (or drag), arrows move it, Shift+arrows resize, a digit sets its class, Enter keeps it, Esc drops it, Delete removes the last. Every change makes a new version."));
  if (!all.samples.length) {
    page.append(card("", {}, empty("This version has no samples.", "Capture some from devices with", "tinymlaas capture --dataset " + name)));
    return;
  }
  let classes = all.version.classes;
  const samples = all.samples;
  let at = Math.max(0, samples.findIndex((x) => !x.label));
  let draft: Box | null = null;
  let size = { w: 1, h: 1 };  // the image's pixels
  const img = h("img", { alt: "" });
  const overlay = s("svg", { class: "boxes", "aria-hidden": "true" });
  const frame = h("div", { class: "frame" }, img);
  frame.append(overlay);
  const where = h("p", { id: "label-position" });
  const current = h("p", { id: "label-current" });
  const boxText = h("p", { id: "label-boxes" });
  const said = h("p", { id: "label-said", role: "status", "aria-live": "polite" });
  const keys = h("div", { class: "keys actions", role: "group", "aria-label": "classes" });
  const fresh = h("input", { id: "new-class", "aria-label": "a new class", size: "12", placeholder: "new class (n)" });
  const view = h("section", { class: "card labeler", id: "labeler", tabindex: "0", "aria-label": "the sample to label; keys: digits, arrows, n, b for a box" },
    frame, h("div", {}, where, current, boxText, keys, fresh, said));
  page.append(view);

  const drawBoxes = () => {
    const x = samples[at];
    overlay.setAttribute("viewBox", `0 0 ${size.w} ${size.h}`);
    overlay.replaceChildren();
    for (const [b, kind] of [...x.boxes.map((b) => [b, "kept"] as const), ...(draft ? [[draft, "draft"] as const] : [])]) {
      const [x0, y0, x1, y1] = b.box;
      overlay.append(s("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, class: kind }),
        Object.assign(s("text", { x: x0 + 0.5, y: y0 + Math.max(2, size.h / 16), class: kind, "font-size": Math.max(2, size.h / 14) }), { textContent: b.label }));
    }
    const list = x.boxes.map((b) => `${b.label} [${b.box.join(", ")}]`).join("; ");
    boxText.textContent = (x.boxes.length ? `boxes: ${list}` : "no boxes") + (draft ? `; new box ${draft.label} [${draft.box.join(", ")}] (Enter keeps it)` : "");
  };
  const show = () => {
    const x = samples[at];
    img.src = `/api/samples/${x.sample}/image.png`;
    img.alt = `sample ${x.sample.slice(0, 8)} (${x.split})`;
    where.textContent = `sample ${at + 1} of ${samples.length} (${x.split})`;
    current.textContent = x.label ? `labeled ${x.label}` : "unlabeled";
    keys.replaceChildren(...classes.map((c, i) => {
      const b = h("button", { type: "button", class: "secondary", "aria-pressed": String(draft ? c === draft.label : c === x.label), "data-class": c }, i < 10 ? `${(i + 1) % 10} ${c}` : c);
      b.addEventListener("click", () => void pick(c));
      return b;
    }));
    drawBoxes();
  };
  img.addEventListener("load", () => {
    size = { w: img.naturalWidth, h: img.naturalHeight };
    drawBoxes();
  });
  const save = async (body: unknown, what: string) => {
    const x = samples[at];
    try {
      const r = await patch<VersionResult>(`/api/datasets/${enc}/samples/${x.sample}`, body);
      classes = r.version.classes;
      said.textContent = `sample ${at + 1} ${what} (version ${r.version.number})`;
      return true;
    } catch (e) {
      said.replaceChildren(errorBox(e));
      return false;
    }
  };
  // A class: the draft box's, else the sample's label (then on to the next sample).
  const pick = async (c: string) => {
    if (draft) {
      draft.label = c;
      show();
      return;
    }
    const x = samples[at];
    if (await save({ label: c }, `labeled ${c}`)) {
      x.label = c;
      if (at + 1 < samples.length) at += 1;
      show();
    }
  };
  const setBoxes = async (boxes: Box[], what: string) => {
    if (await save({ boxes }, what)) {
      samples[at].boxes = boxes;
      draft = null;
      show();
    }
  };
  const clamp = (b: number[]) => {
    let [x0, y0, x1, y1] = b.map(Math.round);
    x0 = Math.min(Math.max(0, x0), size.w - 1);
    y0 = Math.min(Math.max(0, y0), size.h - 1);
    x1 = Math.min(Math.max(x0 + 1, x1), size.w);
    y1 = Math.min(Math.max(y0 + 1, y1), size.h);
    return [x0, y0, x1, y1];
  };
  const startBox = (box: number[]) => {
    draft = { label: samples[at].label || classes[0] || "object", box: clamp(box) };
    show();
  };
  const move = (d: number) => {
    at = Math.min(samples.length - 1, Math.max(0, at + d));
    draft = null;
    show();
  };
  const arrows: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  view.addEventListener("keydown", (ev) => {
    if (ev.target === fresh) return;
    const step = Math.max(1, Math.round(size.w / 28));
    if (/^[0-9]$/.test(ev.key)) {
      const i = ev.key === "0" ? 9 : Number(ev.key) - 1;
      if (i < classes.length) void pick(classes[i]);
    } else if (draft && arrows[ev.key]) {
      const [dx, dy] = arrows[ev.key].map((v) => v * step);
      const [x0, y0, x1, y1] = draft.box;
      draft.box = ev.shiftKey ? clamp([x0, y0, x1 + dx, y1 + dy]) : clamp([x0 + dx, y0 + dy, x1 + dx, y1 + dy]);
      if (!ev.shiftKey && (draft.box[2] - draft.box[0] !== x1 - x0 || draft.box[3] - draft.box[1] !== y1 - y0)) draft.box = [x0, y0, x1, y1];
      drawBoxes();
    } else if (draft && ev.key === "Enter") void setBoxes([...samples[at].boxes, draft], `boxed ${draft.label}`);
    else if (draft && ev.key === "Escape") {
      draft = null;
      show();
    } else if (ev.key === "b") startBox([size.w / 4, size.h / 4, (3 * size.w) / 4, (3 * size.h) / 4]);
    else if ((ev.key === "Delete" || ev.key === "Backspace") && samples[at].boxes.length)
      void setBoxes(samples[at].boxes.slice(0, -1), "lost its last box");
    else if (ev.key === "ArrowRight" || ev.key === "j") move(1);
    else if (ev.key === "ArrowLeft" || ev.key === "k") move(-1);
    else if (ev.key === "n") fresh.focus();
    else return;
    ev.preventDefault();
  });
  // The mouse: drag a box on the image; a class and Enter (or a class button) keep it.
  const toImage = (ev: PointerEvent) => {
    const r = overlay.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * size.w, ((ev.clientY - r.top) / r.height) * size.h];
  };
  let from: number[] | null = null;
  overlay.addEventListener("pointerdown", (ev) => {
    from = toImage(ev);
    overlay.setPointerCapture(ev.pointerId);
    startBox([from[0], from[1], from[0] + 1, from[1] + 1]);
  });
  overlay.addEventListener("pointermove", (ev) => {
    if (!from || !draft) return;
    const [x, y] = toImage(ev);
    draft.box = clamp([Math.min(from[0], x), Math.min(from[1], y), Math.max(from[0], x), Math.max(from[1], y)]);
    drawBoxes();
  });
  overlay.addEventListener("pointerup", () => {
    from = null;
    view.focus();
  });
  fresh.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && fresh.value.trim()) {
      ev.preventDefault();
      const c = fresh.value.trim();
      if (draft && !classes.includes(c)) classes = [...classes, c];
      void pick(c).then(() => { fresh.value = ""; view.focus(); });
    } else if (ev.key === "Escape") view.focus();
  });
  show();
  view.focus();
}
