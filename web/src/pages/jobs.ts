import { get, Job, post } from "../api";
import { badge, card, empty, errorBox, h, pageHead, table } from "../dom";

// Every job with its state; queued and running ones can be cancelled (a running one
// stops at its worker's next checkpoint).
export async function jobs(page: HTMLElement): Promise<void> {
  const list = await get<Job[]>("/api/jobs?limit=50");
  page.append(...pageHead("Jobs", "The work queue: every job the server and its workers ran or will run. Queued and running jobs can be cancelled."));
  const status = h("p", { id: "jobs-status", role: "status" });
  const cancel = (j: Job) => {
    if (j.status !== "queued" && j.status !== "running") return "";
    if (j.cancel_requested) return "cancelling";
    const b = h("button", { type: "button", class: "secondary", "data-job": String(j.id), "aria-label": `cancel job ${j.id}` }, "Cancel");
    b.addEventListener("click", async () => {
      try {
        const after = await post<Job>(`/api/jobs/${j.id}/cancel`, {});
        status.textContent = `Job ${j.id}: ${after.status === "cancelled" ? "cancelled" : "cancelling"}.`;
        b.replaceWith(after.status === "cancelled" ? "" : "cancelling");
        const cell = document.querySelector(`#jobs tr[data-job="${j.id}"] td.status`);
        if (cell) cell.replaceChildren(badge(after.status));
      } catch (e) {
        status.replaceChildren(errorBox(e));
      }
    });
    return b;
  };
  if (!list.length) {
    page.append(card("", {}, empty("No jobs yet.", "Jobs appear here when a page, the API or a pipeline starts one.")));
    return;
  }
  const t = table(["job", "kind", "status", "progress", "message", ""], list.map((j) => [
    String(j.id), j.kind, badge(j.status), `${Math.round(100 * j.progress)} %`, j.message, cancel(j),
  ]));
  t.id = "jobs";
  t.querySelectorAll("tbody tr").forEach((tr, i) => {
    tr.setAttribute("data-job", String(list[i].id));
    tr.children[2].classList.add("status");
  });
  page.append(status, card("", {}, t));
}
