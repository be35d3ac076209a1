import { get, Job } from "../api";
import { badge, card, empty, h, pageHead, table } from "../dom";

import type { Run } from "../api";

export async function home(page: HTMLElement): Promise<void> {
  const [runs, running, failed] = await Promise.all([
    get<Run[]>("/api/runs"),
    get<Job[]>("/api/jobs?status=running"),
    get<Job[]>("/api/jobs?status=failed&limit=5"),
  ]);
  page.append(...pageHead("Home", "What the workspace is doing now, what went wrong, and the latest runs."));
  if (!runs.length && !running.length)
    page.append(card("Get started", { id: "get-started" }, h("ol", {},
      h("li", {}, "Upload images on ", h("a", { href: "#/data" }, "Data"), " (or ", h("code", {}, "tinymlaas data import"), ")."),
      h("li", {}, "Train a model on ", h("a", { href: "#/train" }, "Train"), "."),
      h("li", {}, "Quantize it on ", h("a", { href: "#/squeeze" }, "Squeeze"), ", then build and measure it for a board on ", h("a", { href: "#/compile" }, "Compile"), "."),
      h("li", {}, "Or run the whole lifecycle as a pipeline on ", h("a", { href: "#/pipelines" }, "Pipelines"), " (", h("code", {}, "make demo"), " runs one)."))));
  page.append(h("div", { class: "cards" },
    card("Jobs in progress", { id: "running" }, running.length
      ? table(["job", "kind", "progress", "latest"], running.map((j) => [String(j.id), j.kind, `${Math.round(100 * j.progress)} %`, j.message]))
      : empty("No job is running.", "Start one from Train, Squeeze, Compile or Pipelines.")),
    card("Alerts", { id: "alerts" }, failed.length
      ? table(["job", "kind", "error"], failed.map((j) => [String(j.id), j.kind, j.message]))
      : h("p", { class: "ok" }, "No failed jobs."))));
  page.append(card("Recent runs", { id: "recent-runs" }, runs.length
    ? table(["run", "kind", "status", "seconds", "what"], runs.slice(-10).reverse().map((r) => [
      String(r.id), r.kind, badge(r.status), (r.duration_ms / 1000).toFixed(1),
      String(r.config["spec_file"] ?? r.config["file"] ?? ""),
    ]))
    : empty("No runs yet.", "A training run or a pipeline run appears here when it starts.")));
}
