#include "jobs/worker.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "jobs/job_spec.h"
#include "pipeline/runner.h"

namespace tml {
namespace {

using json = nlohmann::json;

// Renews a job's lease from its own thread and connection until stopped, and polls
// whether the job was asked to stop (every second, or every renewal if sooner).
class Heartbeat {
 public:
  Heartbeat(std::unique_ptr<MetaStore> db, int64_t job, const WorkerOptions& o)
      : db_(std::move(db)), job_(job), o_(o), thread_([this] { Loop(); }) {}
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Set(double progress, const std::string& message) {
    std::lock_guard<std::mutex> l(mu_);
    progress_ = progress;
    message_ = message;
  }
  bool cancel_requested() const { return cancel_; }

 private:
  void Loop() {
    const auto renew_every = std::chrono::milliseconds(std::max<int64_t>(10, o_.lease_ms / 3));
    const auto poll_every =
        std::min<std::chrono::milliseconds>(renew_every, std::chrono::seconds(1));
    auto renewed = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      cv_.wait_for(l, poll_every);
      if (stop_) break;
      const double p = progress_;
      const std::string m = message_;
      l.unlock();
      if (std::chrono::steady_clock::now() - renewed >= renew_every - poll_every / 2) {
        Status st = db_->UpdateJob(job_, o_.name, o_.lease_ms, p, m);
        if (!st.ok() && o_.log) o_.log(st.message());
        renewed = std::chrono::steady_clock::now();
      }
      if (auto j = db_->GetJob(job_); j.ok() && j->cancel_requested) cancel_ = true;
      l.lock();
    }
  }
  std::unique_ptr<MetaStore> db_;
  int64_t job_;
  const WorkerOptions& o_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> cancel_{false};
  double progress_ = 0;
  std::string message_;
  std::thread thread_;
};

// Runs a claimed job to its end and records the end.
Status RunClaimedJob(Workspace& ws, const StoreOpener& open, const WorkerOptions& o,
                     const JobRecord& job, const std::atomic<bool>* stop);

// A sweep's cells as jobs of their own that any worker may claim: the steps two or
// more cells share run here first (so no two workers compute them), then one job per
// cell is queued; this worker runs the ones nobody else has claimed and waits for the
// others, then the whole pipeline runs again, every step cached, for the table and
// the report.
// The cell jobs an earlier run of this sweep queued (its lease expired, so it runs
// again), by their step list, unless they failed or were cancelled: they are adopted,
// not queued twice. Jobs are listed newest first, so the scan ends at the parent.
Result<std::map<std::string, int64_t>> EarlierCellJobs(MetaStore& db, int64_t parent) {
  std::map<std::string, int64_t> found;
  TML_ASSIGN_OR_RETURN(std::vector<JobRecord> jobs, db.ListJobs("", 10000));
  for (const JobRecord& j : jobs) {
    if (j.id <= parent) break;
    if (j.kind != "pipeline" || j.status == "failed" || j.status == "cancelled") continue;
    const json p = json::parse(j.params, nullptr, false);
    if (!p.is_object() || !p.contains("only") || !p.contains("parent") ||
        !p["parent"].is_number_integer() || p["parent"].get<int64_t>() != parent)
      continue;
    found.emplace(p["only"].dump(), j.id);
  }
  return found;
}

Result<PipelineRun> RunSweepAsJobs(Workspace& ws, const StoreOpener& open, const WorkerOptions& o,
                                   const JobRecord& parent, const PipelineSpec& spec,
                                   const RunOptions& ro, const std::atomic<bool>* stop) {
  const std::vector<std::vector<std::string>> cells = SweepCellSteps(*spec.sweep);
  const json params = json::parse(parent.params, nullptr, false);
  if (cells.size() < 2 || !params.contains("yaml")) return RunPipeline(spec, ws, ro);
  std::map<std::string, int> uses;
  for (const auto& cell : cells)
    for (const std::string& step : spec.Closure(cell)) ++uses[step];
  std::vector<std::string> shared;
  for (const auto& [step, n] : uses)
    if (n > 1) shared.push_back(step);
  RunOptions first = ro;
  first.report = false;
  TML_RETURN_IF_ERROR(RunPipeline(SubPipeline(spec, shared), ws, first).status());
  TML_ASSIGN_OR_RETURN(auto earlier, EarlierCellJobs(*ws.db, parent.id));
  std::vector<int64_t> children;
  size_t adopted = 0;
  for (const auto& cell : cells) {
    if (auto it = earlier.find(json(cell).dump()); it != earlier.end()) {
      children.push_back(it->second);
      ++adopted;
      continue;
    }
    const json child = {{"yaml", params["yaml"]}, {"only", cell}, {"parent", parent.id}};
    TML_ASSIGN_OR_RETURN(int64_t id, ws.db->EnqueueJob("pipeline", child.dump(), 2));
    children.push_back(id);
  }
  if (o.on_event) o.on_event();
  if (ro.log)
    ro.log(
        fmt::format("sweep: {} cells as jobs {}..{} ({} queued before this run); any worker "
                    "may take them",
                    cells.size(), children.front(), children.back(), adopted));
  const auto cancel_children = [&] {
    for (int64_t id : children) (void)ws.db->CancelJob(id);
  };
  for (;;) {
    if (ro.cancelled && ro.cancelled()) {
      cancel_children();
      return Status::Cancelled("cancelled with its sweep cells");
    }
    bool ran = false;
    for (int64_t id : children) {
      TML_ASSIGN_OR_RETURN(std::optional<JobRecord> job, ws.db->ClaimJob(o.name, o.lease_ms, id));
      if (!job) continue;
      if (o.on_event) o.on_event();
      TML_RETURN_IF_ERROR(RunClaimedJob(ws, open, o, *job, stop));
      ran = true;
      break;  // look at the cancel flag between cells
    }
    if (ran) continue;
    size_t ended = 0;
    for (int64_t id : children) {
      TML_ASSIGN_OR_RETURN(JobRecord j, ws.db->GetJob(id));
      if (j.status == "failed" || j.status == "cancelled") {
        cancel_children();
        return Status::Errorf("sweep cell job {} {}: {}", id, j.status, j.message);
      }
      ended += j.status == "done";
    }
    if (ended == children.size()) break;
    // Cells other workers run: look again in a moment.
    for (int waited = 0; waited < 200 && !(ro.cancelled && ro.cancelled()); waited += 20)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (ro.log) ro.log("sweep: every cell done; collecting the results");
  return RunPipeline(spec, ws, ro);
}

Status RunClaimedJob(Workspace& ws, const StoreOpener& open, const WorkerOptions& o,
                     const JobRecord& claimed, const std::atomic<bool>* stop) {
  const JobRecord* job = &claimed;
  if (o.log) o.log(fmt::format("job {} ({}): running", job->id, job->kind));
  TML_ASSIGN_OR_RETURN(std::unique_ptr<MetaStore> hb_db, open());
  Heartbeat hb(std::move(hb_db), job->id, o);
  // Whatever a job throws (our code, a third-party library) fails that job with the
  // exception's message; it never ends the worker or the server around it.
  PipelineSpec spec;
  const auto run_job = [&]() -> Result<PipelineRun> {
    if (o.before_job) o.before_job(*job);
    const json params = json::parse(job->params, nullptr, false);
    TML_ASSIGN_OR_RETURN(spec, JobPipeline(job->kind, params, job->id));
    size_t index = 0, of = spec.steps.size();
    double within = 0;
    RunOptions ro;
    ro.log = [&](const std::string& line) {
      hb.Set((static_cast<double>(index ? index - 1 : 0) + within) / static_cast<double>(of), line);
      (void)ws.db->AddJobEvent(job->id, json{{"type", "log"}, {"line", line}}.dump());
      if (o.on_event) o.on_event();
    };
    ro.event = [&](const json& e) {
      if (e.value("type", "") == "step") {
        index = e.value("index", size_t{1});
        of = e.value("of", of);
        within = e.value("state", "") == "running" ? 0.0 : 1.0;
      } else if (e.value("type", "") == "epoch" && e.value("epochs", 0) > 0) {
        within = static_cast<double>(e.value("epoch", 0)) / e.value("epochs", 1);
      }
      json ev = e;
      if (index) ev["step_index"] = index;
      (void)ws.db->AddJobEvent(job->id, ev.dump());
      if (o.on_event) o.on_event();
    };
    ro.cancelled = [&] { return hb.cancel_requested() || (stop && *stop); };
    if (spec.sweep) return RunSweepAsJobs(ws, open, o, *job, spec, ro, stop);
    return RunPipeline(spec, ws, ro);
  };
  Result<PipelineRun> run = Status::Internal("job {} did not run", job->id);
  try {
    run = run_job();
  } catch (const std::exception& e) {
    run = Status::Internal("job {} failed with an exception: {}", job->id, e.what());
  } catch (...) {
    run = Status::Internal("job {} failed with an exception of unknown type", job->id);
  }
  // A run that stopped early: cancelled if asked to, else this worker is stopping and
  // the job goes back to the queue for another (or the next) worker.
  JobEnd end = run.ok() ? JobEnd::kDone : JobEnd::kFailed;
  std::string message = run.ok() ? fmt::format("done: {} step{}", run->steps.size(),
                                               run->steps.size() == 1 ? "" : "s")
                                 : run.status().message();
  if (!run.ok() && hb.cancel_requested()) {
    end = JobEnd::kCancelled;
    message = "cancelled (" + message + ")";
  } else if (!run.ok() && stop && *stop) {
    end = JobEnd::kReleased;
    message = fmt::format("worker {} stopped; queued again", o.name);
  }
  Status st = ws.db->FinishJob(job->id, o.name, end,
                               run.ok() ? PipelineRunJson(*run, spec).dump() : "{}", message);
  if (o.on_event) o.on_event();
  if (o.log) o.log(fmt::format("job {} ({}): {}", job->id, job->kind, message));
  return st;
}

}  // namespace

Result<bool> RunOneJob(Workspace& ws, const StoreOpener& open, const WorkerOptions& o,
                       const std::atomic<bool>* stop) {
  TML_ASSIGN_OR_RETURN(std::optional<JobRecord> job, ws.db->ClaimJob(o.name, o.lease_ms));
  if (!job) return false;
  if (o.on_event) o.on_event();  // the claim wrote the job's "running" event
  TML_RETURN_IF_ERROR(RunClaimedJob(ws, open, o, *job, stop));
  return true;
}

Status RunWorker(Workspace& ws, const StoreOpener& open, const WorkerOptions& o,
                 const std::atomic<bool>& stop) {
  while (!stop) {
    auto ran = RunOneJob(ws, open, o, &stop);
    if (!ran.ok()) {
      if (o.log) o.log("worker " + o.name + ": " + ran.status().message());
    } else if (*ran) {
      continue;
    }
    for (int64_t waited = 0; waited < o.poll_ms && !stop; waited += 50)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

}  // namespace tml
