// The dashboard: a hash router over the lifecycle pages; each page asks the API.
import { login, session } from "./api";
import { empty, errorBox } from "./dom";
import { compile } from "./pages/compile";
import { data } from "./pages/data";
import { drift } from "./pages/drift";
import { fleet } from "./pages/fleet";
import { home } from "./pages/home";
import { jobs } from "./pages/jobs";
import { label } from "./pages/label";
import { lineage } from "./pages/lineage";
import { pipelines } from "./pages/pipelines";
import { rollouts } from "./pages/rollouts";
import { split } from "./pages/split";
import { squeeze } from "./pages/squeeze";
import { train } from "./pages/train";

const pages: Record<string, (page: HTMLElement, arg?: string) => Promise<void>> = { home, data, label, train, squeeze, split, compile, pipelines, jobs, lineage, fleet, rollouts, drift };

// After a navigation the page gets the focus (screen readers announce it, Tab goes on
// from there), unless the page put it on one of its controls (the labeler); on the
// first load, tabbing starts at the top of the document.
async function route(focus = true): Promise<void> {
  const page = document.getElementById("page")!;
  const [name, arg] = location.hash.replace(/^#\//, "").split("?")[0].split("/").map(decodeURIComponent);
  const show = pages[name] ?? home;
  for (const a of document.querySelectorAll("nav a"))
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${name || "home"}`);
  page.replaceChildren();
  try {
    if (!(await session()).user) {
      page.append(empty("Not logged in.", "Enter an API token above to log in; create one with", "tinymlaas token create NAME"));
      return;
    }
  } catch (e) {
    page.append(errorBox(e));
    return;
  }
  try {
    await show(page, arg);
  } catch (e) {
    page.append(errorBox(e));
  }
  if (focus && !page.contains(document.activeElement)) page.focus();
}

const form = document.getElementById("login") as HTMLFormElement;
const input = document.getElementById("token") as HTMLInputElement;
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  void login(input.value.trim()).then(
    () => { input.value = ""; return route(); },
    (e) => document.getElementById("page")!.replaceChildren(errorBox(e)));
});
window.addEventListener("hashchange", () => void route());
void route(false);
