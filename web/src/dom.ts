// Building pages from data without innerHTML: text always goes through textContent.
// The few components every page uses (cards, badges, empty states) live here, so the
// pages stay short and look alike.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// Cells that are numbers (or end in a unit) align right.
const numeric = /^-?[\d.,]+( ?(%|ms|s|bytes|dB))?$/;

export function table(head: string[], rows: (Node | string)[][]): HTMLTableElement {
  return h("table", {}, h("thead", {}, h("tr", {}, ...head.map((c) => h("th", {}, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", typeof c === "string" && numeric.test(c) ? { class: "num" } : {}, c))))));
}

export function errorBox(e: unknown): HTMLElement {
  return h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e));
}

// The page's title and one sentence on what it is for.
export function pageHead(title: string, lead: string): HTMLElement[] {
  return [h("h1", {}, title), h("p", { class: "lead" }, lead)];
}

// A titled panel; attrs go on the section (ids for tests and links).
export function card(title: string, attrs: Record<string, string>, ...children: (Node | string)[]): HTMLElement {
  const s = h("section", { class: "card", ...attrs });
  if (title) s.append(h("h2", {}, title));
  s.append(...children);
  return s;
}

// A job, run or fit state as a coloured pill.
export function badge(state: string): HTMLElement {
  return h("span", { class: `badge ${state.toLowerCase()}` }, state);
}

// What to do when there is nothing to show yet: a sentence and, optionally, the command.
export function empty(what: string, next: string, command?: string): HTMLElement {
  return h("div", { class: "empty" }, h("strong", {}, what), next, ...(command ? [" ", h("code", {}, command)] : []));
}

// Calls `tick` every `ms` while the page that started it is shown (live views); stops on
// the first navigation away, and never runs two ticks at once.
export function whileShown(ms: number, tick: () => Promise<void>): void {
  const hash = location.hash;
  let busy = false;
  const timer = window.setInterval(async () => {
    if (location.hash !== hash) {
      window.clearInterval(timer);
      return;
    }
    if (busy) return;
    busy = true;
    try {
      await tick();
    } finally {
      busy = false;
    }
  }, ms);
}

// A time as the browser's local clock shows it ("" for 0: never).
export function when(ms: number): string {
  return ms ? new Date(ms).toLocaleString() : "";
}
