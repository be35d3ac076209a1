#include "jobs/worker.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "jobs/job_spec.h"
#include "pipeline/runner.h"

namespace tml {
namespace {

using json = nlohmann::json;

// Renews a job's lease from its own thread and connection until stopped.
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

 private:
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      cv_.wait_for(l, std::chrono::milliseconds(std::max<int64_t>(10, o_.lease_ms / 3)));
      if (stop_) break;
      const double p = progress_;
      const std::string m = message_;
      l.unlock();
      Status st = db_->UpdateJob(job_, o_.name, o_.lease_ms, p, m);
      if (!st.ok() && o_.log) o_.log(st.message());
      l.lock();
    }
  }
  std::unique_ptr<MetaStore> db_;
  int64_t job_;
  const WorkerOptions& o_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  double progress_ = 0;
  std::string message_;
  std::thread thread_;
};

json ResultJson(const PipelineRun& r, const PipelineSpec& p) {
  json steps = json::array();
  for (const StepOutcome& s : r.steps)
    steps.push_back({{"step", s.step},
                     {"component", s.component},
                     {"cached", s.cached},
                     {"seconds", s.seconds},
                     {"outputs", s.outputs},
                     {"artifacts", s.artifact_of}});
  json j = {{"run", r.run_id}, {"report", r.report}, {"steps", steps}};
  if (p.sweep) j["sweep"] = SweepJson(r.sweep);
  return j;
}

}  // namespace

Result<bool> RunOneJob(Workspace& ws, const StoreOpener& open, const WorkerOptions& o) {
  TML_ASSIGN_OR_RETURN(std::optional<JobRecord> job, ws.db->ClaimJob(o.name, o.lease_ms));
  if (!job) return false;
  if (o.log) o.log(fmt::format("job {} ({}): running", job->id, job->kind));
  TML_ASSIGN_OR_RETURN(std::unique_ptr<MetaStore> hb_db, open());
  Heartbeat hb(std::move(hb_db), job->id, o);
  const json params = json::parse(job->params, nullptr, false);
  auto spec = JobPipeline(job->kind, params, job->id);
  Result<PipelineRun> run = spec.status();
  if (spec.ok()) {
    size_t index = 0, of = spec->steps.size();
    double within = 0;
    RunOptions ro;
    ro.log = [&](const std::string& line) {
      hb.Set((static_cast<double>(index ? index - 1 : 0) + within) / static_cast<double>(of), line);
      (void)ws.db->AddJobEvent(job->id, json{{"type", "log"}, {"line", line}}.dump());
    };
    ro.event = [&](const json& e) {
      if (e.value("type", "") == "step") {
        index = e.value("index", size_t{1});
        within = e.value("state", "") == "running" ? 0.0 : 1.0;
      } else if (e.value("type", "") == "epoch" && e.value("epochs", 0) > 0) {
        within = static_cast<double>(e.value("epoch", 0)) / e.value("epochs", 1);
      }
      json ev = e;
      if (index) ev["step_index"] = index;
      (void)ws.db->AddJobEvent(job->id, ev.dump());
    };
    run = RunPipeline(*spec, ws, ro);
  }
  Status st = run.ok() ? ws.db->FinishJob(job->id, o.name, true, ResultJson(*run, *spec).dump(),
                                          fmt::format("done: {} steps", run->steps.size()))
                       : ws.db->FinishJob(job->id, o.name, false, "{}", run.status().message());
  if (o.log)
    o.log(fmt::format("job {} ({}): {}", job->id, job->kind,
                      run.ok() ? "done" : "failed: " + run.status().message()));
  TML_RETURN_IF_ERROR(st);
  return true;
}

Status RunWorker(Workspace& ws, const StoreOpener& open, const WorkerOptions& o,
                 const std::atomic<bool>& stop) {
  while (!stop) {
    auto ran = RunOneJob(ws, open, o);
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
