import { get, Job, post } from "../api";
import { errorBox, h, table } from "../dom";

// Every job with its state; queued and running ones can be cancelled (a running one
// stops at its worker's next checkpoint).
export async function jobs(page: HTMLElement): Promise<void> {
  const list = await get<Job[]>("/api/jobs?limit=50");
  page.append(h("h1", {}, "Jobs"));
  const status = h("p", { id: "jobs-status", role: "status" });
  const cancel = (j: Job) => {
    if (j.status !== "queued" && j.status !== "running") return "";
    if (j.cancel_requested) return "cancelling";
    const b = h("button", { type: "button", "data-job": String(j.id), "aria-label": `cancel job ${j.id}` }, "Cancel");
    b.addEventListener("click", async () => {
      try {
        const after = await post<Job>(`/api/jobs/${j.id}/cancel`, {});
        status.textContent = `Job ${j.id}: ${after.status === "cancelled" ? "cancelled" : "cancelling"}.`;
        b.replaceWith(after.status === "cancelled" ? "" : "cancelling");
        const cell = document.querySelector(`#jobs tr[data-job="${j.id}"] td.status`);
        if (cell) cell.textContent = after.status;
      } catch (e) {
        status.replaceChildren(errorBox(e));
      }
    });
    return b;
  };
  const t = table(["job", "kind", "status", "progress", "message", ""], list.map((j) => [
    String(j.id), j.kind, j.status, `${Math.round(100 * j.progress)} %`, j.message, cancel(j),
  ]));
  t.id = "jobs";
  t.querySelectorAll("tbody tr").forEach((tr, i) => {
    tr.setAttribute("data-job", String(list[i].id));
    tr.children[2].classList.add("status");
  });
  page.append(status, t);
}
