// Wakes a server's job streams (Server-Sent Events) when a job has news, instead of
// each stream polling the database: in-process workers and API actions notify it
// directly; on PostgreSQL, events written by other processes arrive through
// LISTEN/NOTIFY (MetaStore::ListenForJobEvents). A stream still looks at the database
// after a timeout, for what no notification reaches (SQLite with worker processes).
//
//   uint64_t seen = bus.generation();
//   seen = bus.Wait(seen, std::chrono::seconds(1));   // returns early on Notify()
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace tml {

class JobEventBus {
 public:
  void Notify() {
    {
      std::lock_guard<std::mutex> l(mu_);
      ++generation_;
    }
    cv_.notify_all();
  }
  uint64_t generation() {
    std::lock_guard<std::mutex> l(mu_);
    return generation_;
  }
  // Waits until something was notified after `seen` or the timeout passes.
  uint64_t Wait(uint64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, timeout, [&] { return generation_ != seen; });
    return generation_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
};

}  // namespace tml
