// The dashboard: a hash router over the lifecycle pages; each page asks the API.
import { setToken, token } from "./api";
import { errorBox } from "./dom";
import { compile } from "./pages/compile";
import { data } from "./pages/data";
import { home } from "./pages/home";
import { jobs } from "./pages/jobs";
import { lineage } from "./pages/lineage";
import { pipelines } from "./pages/pipelines";
import { squeeze } from "./pages/squeeze";
import { train } from "./pages/train";

const pages: Record<string, (page: HTMLElement, arg?: string) => Promise<void>> = { home, data, train, squeeze, compile, pipelines, jobs, lineage };

// After a navigation the page gets the focus (screen readers announce it, Tab goes on
// from there); on the first load, tabbing starts at the top of the document.
async function route(focus = true): Promise<void> {
  const page = document.getElementById("page")!;
  const [name, arg] = location.hash.replace(/^#\//, "").split("?")[0].split("/").map(decodeURIComponent);
  const show = pages[name] ?? home;
  for (const a of document.querySelectorAll("nav a"))
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${name || "home"}`);
  page.replaceChildren();
  if (!token()) {
    page.append(errorBox("Enter an API token above (create one with `tinymlaas token create NAME`)."));
    return;
  }
  try {
    await show(page, arg);
  } catch (e) {
    page.append(errorBox(e));
  }
  if (focus) page.focus();
}

const form = document.getElementById("login") as HTMLFormElement;
const input = document.getElementById("token") as HTMLInputElement;
input.value = token();
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  setToken(input.value.trim());
  void route();
});
window.addEventListener("hashchange", () => void route());
void route(false);
