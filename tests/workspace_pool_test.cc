// The API's connection pool: leases are distinct connections used at once (a reader
// is not held up by another lease's open transaction), the pool never opens more than
// its maximum, a waiting Acquire wakes when a lease ends, and writes through one
// connection are seen through another. Both backends.
#include "data/workspace_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/scratch_dir.h"
#include "pg_server.h"

namespace tml {
namespace {

class Pool : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path());
    std::string skip;
    db_ = TestDatabase(GetParam(), &skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
  }
  WorkspacePool::OpenFn Opener() {
    return [this]() -> Result<Workspace> {
      ++opened_;
      return OpenWorkspace(dir_.path(), db_);
    };
  }
  ScratchDir dir_{"", "pool-test"};
  std::string db_;  // "" = SQLite in the workspace
  std::atomic<int> opened_{0};
};

TEST_P(Pool, LeasesAreSeparateConnectionsUsedAtOnce) {
  WorkspacePool pool(Opener(), 3);
  ASSERT_TRUE(pool.Start().ok());
  EXPECT_EQ(pool.open_connections(), 1);
  WorkspacePool::Lease a = pool.Acquire();
  WorkspacePool::Lease b = pool.Acquire();
  EXPECT_NE(a->db.get(), b->db.get());
  EXPECT_EQ(pool.open_connections(), 2);
  // A write transaction open on one connection does not stop another from reading.
  ASSERT_TRUE(a->db->EnsureDataset("pooled").ok());
  {
    Transaction tx(*a->db);
    ASSERT_TRUE(tx.status().ok()) << tx.status().message();
    ASSERT_TRUE(a->db->EnsureDataset("in-transaction").ok());
    auto seen = b->db->ListDatasets();
    ASSERT_TRUE(seen.ok()) << seen.status().message();
    ASSERT_EQ(seen->size(), 1u);  // not the uncommitted one
    EXPECT_EQ((*seen)[0].name, "pooled");
    ASSERT_TRUE(tx.Commit().ok());
  }
  auto after = b->db->ListDatasets();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 2u);
}

TEST_P(Pool, NeverOpensMoreThanItsMaximumAndWakesAWaiter) {
  WorkspacePool pool(Opener(), 2);
  ASSERT_TRUE(pool.Start().ok());
  auto a = std::make_unique<WorkspacePool::Lease>(pool.Acquire());
  WorkspacePool::Lease b = pool.Acquire();
  Workspace* first = &**a;
  std::atomic<bool> got{false};
  Workspace* third = nullptr;
  std::thread waiter([&] {
    WorkspacePool::Lease c = pool.Acquire();  // blocks: both connections are leased
    third = &*c;
    got = true;
  });
  // The waiter cannot get a connection while both are out; give it every chance to
  // (wrongly) open a third before one comes back.
  for (int i = 0; i < 50 && !got; ++i) std::this_thread::yield();
  EXPECT_FALSE(got);
  a.reset();  // back to the pool: the waiter gets this one
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(third, first);
  EXPECT_EQ(pool.open_connections(), 2);
  EXPECT_EQ(opened_, 2);
}

TEST_P(Pool, ManyThreadsShareAFewConnections) {
  WorkspacePool pool(Opener(), 4);
  ASSERT_TRUE(pool.Start().ok());
  {
    WorkspacePool::Lease ws = pool.Acquire();
    ASSERT_TRUE(ws->db->EnsureDataset("shared").ok());
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        WorkspacePool::Lease ws = pool.Acquire();
        auto d = ws->db->ListDatasets();
        if (!d.ok() || d->size() != 1) ++failures;
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_LE(pool.open_connections(), 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, Pool, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tml
