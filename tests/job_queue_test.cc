// The job queue in the database: claims are exclusive, leases that run out are
// retried then failed (never lost), cancel and release, events are numbered, the
// schema migration keeps old jobs, tokens are looked up by hash.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "core/scratch_dir.h"
#include "pg_server.h"
#include "store/meta_store.h"
#include "store/schema.h"

namespace tml {
namespace {

// Every test runs on SQLite and on PostgreSQL (a server started for the tests).
class JobQueue : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path());
    std::string skip;
    spec_ = TestDatabase(GetParam(), &skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
    if (spec_.empty()) spec_ = "sqlite:" + dir_.path() + "/meta.db";
    db_ = Open();
    ASSERT_NE(db_, nullptr);
  }
  std::unique_ptr<MetaStore> Open() {
    auto db = OpenStore(spec_);
    EXPECT_TRUE(db.ok()) << db.status().message();
    return db.ok() ? std::move(*db) : nullptr;
  }
  ScratchDir dir_{"", "job-queue-test"};
  std::string spec_;
  std::unique_ptr<MetaStore> db_;
};

TEST_P(JobQueue, ClaimsInOrderAndFinishes) {
  const int64_t a = *db_->EnqueueJob("train", R"({"epochs": 1})", 2);
  const int64_t b = *db_->EnqueueJob("compile", "{}", 2);
  auto j = db_->ClaimJob("w1", 60000);
  ASSERT_TRUE(j.ok() && *j);
  EXPECT_EQ((*j)->id, a);
  EXPECT_EQ((*j)->status, "running");
  EXPECT_EQ((*j)->attempts, 1);
  ASSERT_TRUE(db_->UpdateJob(a, "w1", 60000, 0.5, "epoch 1/2").ok());
  EXPECT_FALSE(db_->UpdateJob(a, "w2", 60000, 0.5, "not mine").ok());
  ASSERT_TRUE(db_->FinishJob(a, "w1", JobEnd::kDone, R"({"run": 3})", "done").ok());
  EXPECT_FALSE(db_->FinishJob(a, "w1", JobEnd::kDone, "{}", "twice").ok());
  auto done = db_->GetJob(a);
  EXPECT_EQ(done->status, "done");
  EXPECT_EQ(done->result, R"({"run": 3})");
  EXPECT_EQ(db_->ClaimJob("w1", 60000)->value().id, b);
  EXPECT_FALSE(db_->ClaimJob("w1", 60000)->has_value());  // empty
  auto events = db_->JobEvents(a, 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);  // running, done
  EXPECT_EQ((*events)[0].seq, 1);
  EXPECT_NE((*events)[1].data.find("\"done\""), std::string::npos);
  EXPECT_EQ(db_->JobEvents(a, 1)->size(), 1u);
  EXPECT_FALSE(db_->GetJob(999).ok());
}

TEST_P(JobQueue, ADeadWorkersJobIsRetriedThenFailedNeverLost) {
  const int64_t id = *db_->EnqueueJob("train", "{}", 2);
  ASSERT_EQ(db_->ClaimJob("dies", 1)->value().id, id);  // a 1 ms lease, never renewed
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto again = db_->ClaimJob("second", 1);
  ASSERT_TRUE(again.ok() && *again);
  EXPECT_EQ((*again)->id, id);
  EXPECT_EQ((*again)->attempts, 2);
  EXPECT_EQ((*again)->worker, "second");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(db_->ClaimJob("third", 60000)->has_value());  // two attempts: failed
  auto j = db_->GetJob(id);
  EXPECT_EQ(j->status, "failed");
  EXPECT_NE(j->message.find("failed after 2 attempts"), std::string::npos) << j->message;
  EXPECT_FALSE(db_->FinishJob(id, "second", JobEnd::kDone, "{}", "too late").ok());
}

TEST_P(JobQueue, ConcurrentWorkersNeverShareAJob) {
  constexpr int kJobs = 60, kWorkers = 4;
  for (int i = 0; i < kJobs; ++i) ASSERT_TRUE(db_->EnqueueJob("compile", "{}", 1).ok());
  std::vector<std::vector<int64_t>> got(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] {
      auto db = Open();  // each worker its own connection, as separate processes have
      for (;;) {
        auto j = db->ClaimJob("w" + std::to_string(w), 60000);
        if (!j.ok() || !*j) break;
        got[w].push_back((*j)->id);
        ASSERT_TRUE(
            db->FinishJob((*j)->id, "w" + std::to_string(w), JobEnd::kDone, "{}", "ok").ok());
      }
    });
  for (auto& t : threads) t.join();
  std::set<int64_t> all;
  size_t total = 0;
  for (const auto& g : got) {
    total += g.size();
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kJobs));       // none twice
  EXPECT_EQ(all.size(), static_cast<size_t>(kJobs));  // none lost
  EXPECT_EQ(db_->ListJobs("done", 1000)->size(), static_cast<size_t>(kJobs));
}

TEST_P(JobQueue, CancelStopsQueuedJobsAtOnceAndAsksRunningOnes) {
  const int64_t a = *db_->EnqueueJob("train", "{}", 2);
  const int64_t b = *db_->EnqueueJob("train", "{}", 2);
  auto ca = db_->CancelJob(a);
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  EXPECT_EQ(ca->status, "cancelled");
  EXPECT_GT(ca->finished_ms, 0);
  ASSERT_EQ(db_->ClaimJob("w1", 60000)->value().id, b);  // the cancelled one is skipped
  auto cb = db_->CancelJob(b);
  ASSERT_TRUE(cb.ok()) << cb.status().message();
  EXPECT_EQ(cb->status, "running");  // until its worker notices
  EXPECT_TRUE(cb->cancel_requested);
  EXPECT_TRUE(db_->GetJob(b)->cancel_requested);
  EXPECT_FALSE(db_->GetJob(a)->cancel_requested);
  ASSERT_TRUE(db_->FinishJob(b, "w1", JobEnd::kCancelled, "{}", "cancelled").ok());
  EXPECT_EQ(db_->GetJob(b)->status, "cancelled");
  auto again = db_->CancelJob(b);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already ended (cancelled)"), std::string::npos);
  auto missing = db_->CancelJob(999);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "no job 999");
  EXPECT_FALSE(db_->ClaimJob("w1", 60000)->has_value());
  std::string events;
  auto all = db_->JobEvents(b, 0);
  ASSERT_TRUE(all.ok());
  for (const JobEvent& e : *all) events += e.data + "\n";
  EXPECT_NE(events.find("\"type\":\"cancel\""), std::string::npos) << events;
  EXPECT_NE(events.find("\"status\":\"cancelled\""), std::string::npos) << events;
  EXPECT_EQ(db_->ListJobs("cancelled", 10)->size(), 2u);
}

// A job asked to stop whose worker then died is not run again: the expired lease
// cancels it.
TEST_P(JobQueue, AnExpiredLeaseOfACancelledJobCancelsIt) {
  const int64_t id = *db_->EnqueueJob("train", "{}", 3);
  ASSERT_EQ(db_->ClaimJob("dies", 1)->value().id, id);
  ASSERT_TRUE(db_->CancelJob(id).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(db_->ClaimJob("next", 60000)->has_value());
  auto j = db_->GetJob(id);
  EXPECT_EQ(j->status, "cancelled");
  EXPECT_NE(j->message.find("worker dies stopped renewing its lease"), std::string::npos)
      << j->message;
}

TEST_P(JobQueue, AReleasedJobIsQueuedAgainWithoutSpendingAnAttempt) {
  const int64_t id = *db_->EnqueueJob("train", "{}", 1);
  ASSERT_EQ(db_->ClaimJob("stopping", 60000)->value().attempts, 1);
  ASSERT_TRUE(db_->FinishJob(id, "stopping", JobEnd::kReleased, "{}", "worker stopped").ok());
  auto j = db_->GetJob(id);
  EXPECT_EQ(j->status, "queued");
  EXPECT_EQ(j->attempts, 0);
  EXPECT_EQ(j->worker, "");
  auto next = db_->ClaimJob("next", 60000);
  ASSERT_TRUE(next.ok() && *next);
  EXPECT_EQ((*next)->attempts, 1);  // its one attempt is still there
  ASSERT_TRUE(db_->FinishJob(id, "next", JobEnd::kDone, "{}", "done").ok());
}

// A database made by the previous schema (5) keeps its jobs and events through the
// migration that rebuilds the jobs tables, and new ids continue after the old ones.
TEST_P(JobQueue, MigrationSixKeepsEarlierJobs) {
  std::string skip;
  const std::string old_db = GetParam() == "postgres" ? TestDatabase("postgres", &skip)
                                                      : "sqlite:" + dir_.path() + "/v5.db";
  ASSERT_EQ(skip, "");
  std::string script = "CREATE TABLE schema_version(version INTEGER NOT NULL);";
  for (int v = 0; v < 5; ++v)
    script += SchemaMigrations()[static_cast<size_t>(v)] +
              fmt::format(";INSERT INTO schema_version VALUES({});", v + 1);
  script +=
      "INSERT INTO jobs(kind, params, status, progress, message, result, worker, "
      "lease_until_ms, attempts, max_attempts, created_ms, started_ms, finished_ms) VALUES"
      "('train', '{}', 'done', 1, 'ok', '{}', 'w', 0, 1, 2, 1, 2, 3),"
      "('compile', '{}', 'queued', 0, '', '{}', '', 0, 0, 2, 4, 0, 0);"
      "INSERT INTO job_events(job, seq, time_ms, data) VALUES(1, 1, 5, '{\"type\":\"log\"}');";
  if (GetParam() == "postgres") {
    pqxx::connection c(old_db);
    pqxx::nontransaction w(c);
    w.exec(ForPostgres(script));
  } else {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/v5.db").c_str(), &raw), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(raw, script.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(raw);
  }
  auto db = OpenStore(old_db);
  ASSERT_TRUE(db.ok()) << db.status().message();
  EXPECT_EQ((*db)->GetJob(1)->status, "done");
  EXPECT_EQ((*db)->JobEvents(1, 0)->size(), 1u);
  EXPECT_FALSE((*db)->GetJob(2)->cancel_requested);
  EXPECT_EQ(*(*db)->EnqueueJob("train", "{}", 1), 3);
  EXPECT_EQ((*db)->CancelJob(2)->status, "cancelled");
}

TEST_P(JobQueue, TokensAreFoundByTheirHashOnly) {
  ASSERT_TRUE(db_->AddToken("ci", "ab12").ok());
  EXPECT_EQ(db_->TokenName("ab12")->value_or(""), "ci");
  EXPECT_FALSE(db_->TokenName("ab13")->has_value());
  EXPECT_FALSE(db_->AddToken("again", "ab12").ok());  // one name per token
}

TEST_P(JobQueue, AClaimCanNameTheJob) {
  const int64_t a = *db_->EnqueueJob("pipeline", "{}", 2);
  const int64_t b = *db_->EnqueueJob("pipeline", "{}", 2);
  auto j = db_->ClaimJob("w1", 60000, b);  // not the oldest: the one asked for
  ASSERT_TRUE(j.ok() && *j) << j.status().message();
  EXPECT_EQ((*j)->id, b);
  EXPECT_FALSE(db_->ClaimJob("w2", 60000, b)->has_value());  // running now: not again
  EXPECT_FALSE(db_->ClaimJob("w2", 60000, 999)->has_value());  // no such job
  EXPECT_EQ(db_->ClaimJob("w2", 60000)->value().id, a);
}

INSTANTIATE_TEST_SUITE_P(Backends, JobQueue, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tml
