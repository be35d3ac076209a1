import { get, Job } from "../api";
import { h, table } from "../dom";

import type { Run } from "../api";

export async function home(page: HTMLElement): Promise<void> {
  const [runs, running, failed] = await Promise.all([
    get<Run[]>("/api/runs"),
    get<Job[]>("/api/jobs?status=running"),
    get<Job[]>("/api/jobs?status=failed&limit=5"),
  ]);
  page.append(h("h1", {}, "Home"));
  page.append(h("h2", {}, "Jobs in progress"));
  page.append(running.length
    ? table(["job", "kind", "progress", "latest"], running.map((j) => [String(j.id), j.kind, `${Math.round(100 * j.progress)} %`, j.message]))
    : h("p", {}, "No job is running."));
  page.append(h("h2", {}, "Alerts"));
  page.append(failed.length
    ? table(["job", "kind", "error"], failed.map((j) => [String(j.id), j.kind, j.message]))
    : h("p", { class: "ok" }, "No failed jobs."));
  page.append(h("h2", {}, "Recent runs"));
  page.append(table(["run", "kind", "status", "seconds", "what"], runs.slice(-10).reverse().map((r) => [
    String(r.id), r.kind, r.status, (r.duration_ms / 1000).toFixed(1),
    String(r.config["spec_file"] ?? r.config["file"] ?? ""),
  ])));
}
