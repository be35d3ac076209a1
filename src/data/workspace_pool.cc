#include "data/workspace_pool.h"

namespace tml {

WorkspacePool::WorkspacePool(OpenFn open, int max_connections)
    : open_(std::move(open)), max_(max_connections < 1 ? 1 : max_connections) {}

Status WorkspacePool::Start() {
  TML_ASSIGN_OR_RETURN(Workspace ws, open_());
  std::lock_guard<std::mutex> l(mu_);
  idle_.push_back(std::make_unique<Workspace>(std::move(ws)));
  ++open_count_;
  return Status::Ok();
}

WorkspacePool::Lease::~Lease() {
  if (ws_) pool_->Return(std::move(ws_));
}

void WorkspacePool::Return(std::unique_ptr<Workspace> ws) {
  {
    std::lock_guard<std::mutex> l(mu_);
    idle_.push_back(std::move(ws));
  }
  returned_.notify_one();
}

WorkspacePool::Lease WorkspacePool::Acquire() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Workspace> ws = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(ws));
    }
    if (open_count_ + opening_ < max_) {
      ++opening_;
      l.unlock();
      auto opened = open_();  // outside the lock: a slow connect holds no one else up
      l.lock();
      --opening_;
      if (opened.ok()) {
        ++open_count_;
        return Lease(this, std::make_unique<Workspace>(std::move(opened).value()));
      }
      // Cannot open more now (connection limit, ...): wait for one of those open.
      if (open_count_ == 0) {
        // Nothing to wait for: try again after a pause rather than spin.
        returned_.wait_for(l, std::chrono::milliseconds(100));
        continue;
      }
    }
    returned_.wait(l, [this] { return !idle_.empty(); });
  }
}

int WorkspacePool::open_connections() const {
  std::lock_guard<std::mutex> l(mu_);
  return open_count_;
}

}  // namespace tml
