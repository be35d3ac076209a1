// Connections to one workspace's metadata store for threads that serve requests at
// once (the HTTP API): each lease is a Workspace of its own (its own SQLite
// connection in WAL mode, or its own PostgreSQL connection), so readers never wait
// for one another; writers wait only on the database's own locks.
//
//   WorkspacePool pool(open, 8);
//   TML_RETURN_IF_ERROR(pool.Start());         // opens the first connection
//   { WorkspacePool::Lease ws = pool.Acquire();  ws->db->ListRuns(""); }  // back when it ends
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "data/dataset_store.h"

namespace tml {

class WorkspacePool {
 public:
  using OpenFn = std::function<Result<Workspace>()>;
  WorkspacePool(OpenFn open, int max_connections);

  // Opens the first connection: an unreachable or broken store fails here.
  [[nodiscard]] Status Start();

  class Lease {
   public:
    Lease(WorkspacePool* pool, std::unique_ptr<Workspace> ws) : pool_(pool), ws_(std::move(ws)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Workspace* operator->() const { return ws_.get(); }
    Workspace& operator*() const { return *ws_; }

   private:
    WorkspacePool* pool_;
    std::unique_ptr<Workspace> ws_;
  };

  // An idle connection, or a new one while fewer than max_connections are open, else
  // the next one returned. A connection that cannot be opened is waited for instead.
  Lease Acquire();

  int open_connections() const;

 private:
  void Return(std::unique_ptr<Workspace> ws);

  OpenFn open_;
  const int max_;
  mutable std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Workspace>> idle_;
  int open_count_ = 0;
  int opening_ = 0;  // connections being opened outside the lock
};

}  // namespace tml
