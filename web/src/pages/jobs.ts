import { get, Job } from "../api";
import { h, table } from "../dom";

export async function jobs(page: HTMLElement): Promise<void> {
  const list = await get<Job[]>("/api/jobs?limit=50");
  page.append(h("h1", {}, "Jobs"));
  page.append(table(["job", "kind", "status", "progress", "message"], list.map((j) => [
    String(j.id), j.kind, j.status, `${Math.round(100 * j.progress)} %`, j.message,
  ])));
}
