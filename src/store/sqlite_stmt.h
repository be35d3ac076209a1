// Internal to the SQLite store: a prepared statement wrapper.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "store/meta_store.h"

namespace tml::sqlite {

// Runs SQL without results (several statements allowed).
inline Status ExecSql(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status st = Status::Internal("database: {}", err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    return st;
  }
  return Status::Ok();
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Status status() const {
    return s_ ? Status::Ok() : Status::Internal("database: {}", sqlite3_errmsg(db_));
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& BindNullIfZero(int i, int64_t v) {
    if (v == 0)
      sqlite3_bind_null(s_, i);
    else
      sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW: true; SQLITE_DONE: false; anything else: error.
  Result<bool> Step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Status::Internal("database: {}", sqlite3_errmsg(db_));
  }
  Status Run() {
    TML_RETURN_IF_ERROR(status());
    auto r = Step();
    sqlite3_reset(s_);
    return r.ok() ? Status::Ok() : r.status();
  }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int Columns() const { return sqlite3_column_count(s_); }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Double(int col) const { return sqlite3_column_double(s_, col); }
  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// The job queue (sqlite_jobs.cc); each claim or finish is one write transaction.
Result<int64_t> SqliteEnqueueJob(sqlite3* db, const std::string& kind, const std::string& params,
                                 int max_attempts);
Result<std::optional<JobRecord>> SqliteClaimJob(sqlite3* db, const std::string& worker,
                                                int64_t lease_ms, int64_t only_id);
Status SqliteUpdateJob(sqlite3* db, int64_t id, const std::string& worker, int64_t lease_ms,
                       double progress, const std::string& message);
Status SqliteFinishJob(sqlite3* db, int64_t id, const std::string& worker, JobEnd end,
                       const std::string& result, const std::string& message);
Result<JobRecord> SqliteCancelJob(sqlite3* db, int64_t id);
Result<JobRecord> SqliteGetJob(sqlite3* db, int64_t id);
Result<std::vector<JobRecord>> SqliteListJobs(sqlite3* db, const std::string& status,
                                              int64_t limit);
Status SqliteAddJobEvent(sqlite3* db, int64_t job, const std::string& data);
Result<std::vector<JobEvent>> SqliteJobEvents(sqlite3* db, int64_t job, int64_t after_seq);

// The device registry (sqlite_devices.cc).
Status SqlitePutDevice(sqlite3* db, const DeviceRecord& d);
Status SqliteSetAgentOnline(sqlite3* db, const std::string& agent, bool online);
Status SqliteSetDeviceGroups(sqlite3* db, const std::string& device,
                             const std::vector<std::string>& groups);
Result<std::vector<DeviceRecord>> SqliteFindDevices(sqlite3* db, const std::string& id,
                                                    const std::string& group);
Result<int64_t> SqliteAddDeployment(sqlite3* db, const DeploymentRecord& d);
Status SqliteFinishDeployment(sqlite3* db, int64_t id, const std::string& status,
                              const std::string& message);
Result<std::vector<DeploymentRecord>> SqliteListDeployments(sqlite3* db, const std::string& device);

}  // namespace tml::sqlite
