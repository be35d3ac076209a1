// The job queue: submit (checked first), list, inspect, follow (events, Server-Sent Events).
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "jobs/job_spec.h"
#include "server/api.h"
#include "server/schemas.h"

namespace tml {
namespace {

using json = nlohmann::json;

json JobJson(const JobRecord& j) {
  return {{"id", j.id},
          {"kind", j.kind},
          {"params", json::parse(j.params, nullptr, false)},
          {"status", j.status},
          {"progress", j.progress},
          {"message", j.message},
          {"result", json::parse(j.result, nullptr, false)},
          {"worker", j.worker},
          {"attempts", j.attempts},
          {"max_attempts", j.max_attempts},
          {"created_ms", j.created_ms},
          {"started_ms", j.started_ms},
          {"finished_ms", j.finished_ms},
          {"cancel_requested", j.cancel_requested}};
}

json EventJson(const JobEvent& e) {
  json d = json::parse(e.data, nullptr, false);
  return {{"seq", e.seq}, {"time_ms", e.time_ms}, {"data", d}};
}

int64_t QueryInt(const ApiRequest& q, const std::string& k, int64_t def) {
  auto it = q.query.find(k);
  if (it == q.query.end()) return def;
  auto v = ParseId(it->second);
  return v.ok() ? *v : def;
}

}  // namespace

void AddJobRoutes(std::vector<Route>& r) {
  Route submit{"POST", "/api/jobs",
               "Queue long work: a pipeline ({\"yaml\": TEXT}) or one component (train, "
               "quantize, prune, compile, evaluate, dataset) with its parameters",
               "jobs"};
  json kinds = json::array();
  for (const std::string& k : JobKinds()) kinds.push_back(k);
  submit.body = {{"type", "object"},
                 {"required", {"kind", "params"}},
                 {"additionalProperties", false},
                 {"properties",
                  {{"kind", {{"type", "string"}, {"enum", kinds}}},
                   {"params", {{"type", "object"}}},
                   {"max_attempts", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}}}}};
  submit.success = 202;
  submit.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string kind = q.body["kind"];
    // The whole job is checked now (types, unknown parameters, references), not later.
    auto spec = JobPipeline(kind, q.body["params"], 0);
    if (!spec.ok()) return ApiError(400, spec.status().message());
    if (Status st = CheckFilesUnder(*spec, c.file_roots); !st.ok())
      return ApiError(400, "job: " + st.message());
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto id = ws->db->EnqueueJob(kind, q.body["params"].dump(), q.body.value("max_attempts", 2));
    if (!id.ok()) return FromStatus(id.status());
    auto job = ws->db->GetJob(*id);
    if (!job.ok()) return FromStatus(job.status());
    return Json(JobJson(*job), 202);
  };
  submit.response = schema::Job();
  r.push_back(submit);

  Route list{"GET", "/api/jobs", "Jobs, newest first", "jobs"};
  list.query = {{"status", "queued, running, done, failed or cancelled", {{"type", "string"}}},
                {"limit", "at most this many (default 100)", {{"type", "integer"}}}};
  list.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string status = q.query.count("status") ? q.query.at("status") : "";
    if (!status.empty() && status != "queued" && status != "running" && status != "done" &&
        status != "failed")
      return ApiError(400, "status: queued, running, done or failed");
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto jobs = ws->db->ListJobs(status, std::min<int64_t>(1000, QueryInt(q, "limit", 100)));
    if (!jobs.ok()) return FromStatus(jobs.status());
    json out = json::array();
    for (const JobRecord& j : *jobs) out.push_back(JobJson(j));
    return Json(out);
  };
  list.response = schema::Array(schema::Job());
  r.push_back(list);

  Route get{"GET", "/api/jobs/{id}", "One job: status, progress, result", "jobs"};
  get.handler = [](ApiContext& c, const ApiRequest& q) {
    auto id = ParseId(q.path.at("id"));
    if (!id.ok()) return ApiError(400, id.status().message());
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto job = ws->db->GetJob(*id);
    if (!job.ok()) return FromStatus(job.status());
    return Json(JobJson(*job));
  };
  get.response = schema::Job();
  r.push_back(get);

  Route cancel{"POST", "/api/jobs/{id}/cancel",
               "Cancel a job: a queued one at once; a running one stops at its worker's next "
               "checkpoint (between steps, training batches) and ends as cancelled",
               "jobs"};
  cancel.handler = [](ApiContext& c, const ApiRequest& q) {
    auto id = ParseId(q.path.at("id"));
    if (!id.ok()) return ApiError(400, id.status().message());
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto job = ws->db->CancelJob(*id);
    if (!job.ok()) return FromStatus(job.status());
    c.job_events.Notify();  // a queued job's stream ends now
    return Json(JobJson(*job));
  };
  cancel.response = schema::Job();
  r.push_back(cancel);

  Route events{"GET", "/api/jobs/{id}/events", "A job's events after a sequence number", "jobs"};
  events.query = {{"after", "sequence number already seen (default 0)", {{"type", "integer"}}}};
  events.handler = [](ApiContext& c, const ApiRequest& q) {
    auto id = ParseId(q.path.at("id"));
    if (!id.ok()) return ApiError(400, id.status().message());
    WorkspacePool::Lease ws = c.pool.Acquire();
    if (auto job = ws->db->GetJob(*id); !job.ok()) return FromStatus(job.status());
    auto ev = ws->db->JobEvents(*id, QueryInt(q, "after", 0));
    if (!ev.ok()) return FromStatus(ev.status());
    json out = json::array();
    for (const JobEvent& e : *ev) out.push_back(EventJson(e));
    return Json(out);
  };
  events.response = schema::Array(schema::JobEvent());
  r.push_back(events);

  Route stream{"GET", "/api/jobs/{id}/stream",
               "Server-Sent Events: every event of the job as it happens, then the end", "jobs"};
  stream.produces = "text/event-stream";
  stream.query = {{"after", "sequence number already seen (default 0)", {{"type", "integer"}}}};
  stream.handler = [](ApiContext& c, const ApiRequest& q) {
    auto id = ParseId(q.path.at("id"));
    if (!id.ok()) return ApiError(400, id.status().message());
    {
      WorkspacePool::Lease ws = c.pool.Acquire();
      if (auto job = ws->db->GetJob(*id); !job.ok()) return FromStatus(job.status());
    }
    // Each open stream holds one of the server's HTTP threads: past max_streams a new
    // one is refused so that requests always find a thread.
    auto slot = StreamSlot::Take(c.open_streams, c.max_streams);
    if (!slot)
      return ApiError(503, fmt::format("{} event streams are open, the most this server keeps; "
                                       "try again later",
                                       c.max_streams));
    ApiResponse res;
    res.content_type = "text/event-stream";
    auto after = std::make_shared<int64_t>(QueryInt(q, "after", 0));
    auto news = std::make_shared<bool>(true);      // the last look found events: look again at once
    auto greeted = std::make_shared<bool>(false);  // something was sent
    auto seen = std::make_shared<uint64_t>(c.job_events.generation());
    using Clock = std::chrono::steady_clock;
    auto quiet_since = std::make_shared<Clock::time_point>(Clock::now());
    const auto until = Clock::now() + std::chrono::hours(1);
    const int64_t job = *id;
    res.stream = [&c, slot, after, news, greeted, seen, quiet_since, until, job](std::string& out) {
      // Waits for a notification (or event_poll_ms) between looks at the database; ends
      // when the job has finished and every event is out, when the server stops, or
      // after an hour (EventSource reconnects).
      if (!*news) *seen = c.job_events.Wait(*seen, std::chrono::milliseconds(c.event_poll_ms));
      if (c.stopping) return false;
      WorkspacePool::Lease ws = c.pool.Acquire();
      auto ev = ws->db->JobEvents(job, *after);
      auto j = ws->db->GetJob(job);
      if (!ev.ok() || !j.ok()) return false;
      for (const JobEvent& e : *ev) {
        out += fmt::format("id: {}\nevent: job\ndata: {}\n\n", e.seq, EventJson(e).dump());
        *after = e.seq;
      }
      const bool finished =
          j->status == "done" || j->status == "failed" || j->status == "cancelled";
      if (finished && ev->empty()) {
        out += fmt::format("event: end\ndata: {}\n\n", JobJson(*j).dump());
        return false;
      }
      if (!*greeted && out.empty()) out += ": open\n\n";  // a queued job has no event yet
      *greeted = true;
      *news = !ev->empty();
      if (*news) {
        *quiet_since = Clock::now();
      } else if (Clock::now() - *quiet_since > std::chrono::seconds(15)) {
        out += ": keep-alive\n\n";
        *quiet_since = Clock::now();
      }
      return Clock::now() < until;
    };
    return res;
  };
  r.push_back(stream);
}

}  // namespace tml
