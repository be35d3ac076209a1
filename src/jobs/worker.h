// Job workers: claim a queued job, run it (RunPipeline) while a heartbeat renews the
// lease, stream its progress as job events, finish it with its result. Workers run in
// the server process (threads) or as `tinymlaas worker` processes; the queue's claims
// are atomic, so any number of them share one database.
//
//   WorkerOptions o;  o.name = "host-1/0";
//   TML_ASSIGN_OR_RETURN(bool ran, RunOneJob(ws, open_db, o));
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "data/dataset_store.h"

namespace tml {

struct WorkerOptions {
  std::string name;          // unique per worker: host, pid, thread
  int64_t lease_ms = 30000;  // renewed every lease_ms / 3
  int64_t poll_ms = 500;     // queue polling while idle
  std::function<void(const std::string& line)> log;
  // Called before each job's pipeline runs, inside the job's error handling: tests inject
  // faults here (it may throw; the job then fails with the exception's message).
  std::function<void(const JobRecord& job)> before_job;
  // Called after each event this worker writes (the server wakes its job streams).
  std::function<void()> on_event;
};

// A fresh connection to the same database (the heartbeat thread's own).
using StoreOpener = std::function<Result<std::unique_ptr<MetaStore>>()>;

// Runs one job if one is queued; false when the queue was empty. The job ends as
// cancelled when cancelled through the queue (CancelJob); when `stop` is set while it
// runs, it stops at its next checkpoint and goes back to the queue.
Result<bool> RunOneJob(Workspace& ws, const StoreOpener& open, const WorkerOptions& o,
                       const std::atomic<bool>* stop = nullptr);
// Runs jobs until `stop` is set; a job in progress then goes back to the queue.
Status RunWorker(Workspace& ws, const StoreOpener& open, const WorkerOptions& o,
                 const std::atomic<bool>& stop);

}  // namespace tml
