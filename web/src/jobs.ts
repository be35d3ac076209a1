// Long actions of the pages: run a component as a job, follow it, and report on a form.
import { followJob, Job, post } from "./api";
import type { Artifact } from "./api";
import { errorBox } from "./dom";

export type { Artifact };

// Runs one component as a job and resolves with the finished job (or rejects with its error).
export function runJob(kind: string, params: Record<string, unknown>, status: HTMLElement): Promise<Job> {
  return post<Job>("/api/jobs", { kind, params }).then((job) => new Promise((ok, fail) => {
    status.textContent = `${kind} job ${job.id} queued`;
    followJob(job.id, (e) => {
      if (e.type === "log") status.textContent = `${kind} job ${job.id}: ${String(e.line).trim()}`;
    }, (done) => (done.status === "done" ? ok(done) : fail(new Error(done.message))));
  }));
}

export function artifactOf(job: Job, output: string): string {
  const steps = (job.result["steps"] ?? []) as { artifacts: Record<string, string> }[];
  return steps[0]?.artifacts?.[output] ?? "";
}

// Runs `action` when the form is submitted; the status line ends as its message (or
// "done") or the error, with data-state set for tests and screen readers to follow.
export function onSubmit(form: HTMLFormElement, status: HTMLElement, action: () => Promise<string | void>): void {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      status.textContent = (await action()) || "done";
      status.dataset.state = "done";
    } catch (e) {
      status.replaceChildren(errorBox(e));
      status.dataset.state = "failed";
    }
  });
}
