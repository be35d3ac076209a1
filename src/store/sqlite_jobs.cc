// The job queue on SQLite. Claims run inside BEGIN IMMEDIATE (SQLite's single writer),
// so two workers, in one process or several, never take the same job.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/sqlite_stmt.h"

namespace tml::sqlite {
namespace {

constexpr const char* kJobColumns =
    "id, kind, params, status, progress, message, result, worker, lease_until_ms, attempts, "
    "max_attempts, created_ms, started_ms, finished_ms, cancel_requested";

JobRecord ReadJob(const Stmt& s) {
  JobRecord j;
  j.id = s.Int(0);
  j.kind = s.Text(1);
  j.params = s.Text(2);
  j.status = s.Text(3);
  j.progress = s.Double(4);
  j.message = s.Text(5);
  j.result = s.Text(6);
  j.worker = s.Text(7);
  j.lease_until_ms = s.Int(8);
  j.attempts = static_cast<int>(s.Int(9));
  j.max_attempts = static_cast<int>(s.Int(10));
  j.created_ms = s.Int(11);
  j.started_ms = s.Int(12);
  j.finished_ms = s.Int(13);
  j.cancel_requested = s.Int(14) != 0;
  return j;
}

Result<std::vector<JobRecord>> Query(sqlite3* db, const std::string& sql,
                                     const std::vector<std::string>& text_args,
                                     const std::vector<int64_t>& int_args) {
  Stmt s(db, sql.c_str());
  TML_RETURN_IF_ERROR(s.status());
  int i = 1;
  for (const std::string& a : text_args) s.Bind(i++, a);
  for (int64_t a : int_args) s.Bind(i++, a);
  std::vector<JobRecord> out;
  for (;;) {
    TML_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadJob(s));
  }
  return out;
}

Result<std::optional<JobRecord>> Claim(sqlite3* db, const std::string& worker, int64_t lease_ms,
                                       int64_t only_id) {
  const int64_t now = NowMs();
  // Leases that ran out: the worker died (or hung). Retry or give up.
  TML_ASSIGN_OR_RETURN(
      auto expired,
      Query(db,
            fmt::format("SELECT {} FROM jobs WHERE status = 'running' AND lease_until_ms < ?",
                        kJobColumns),
            {}, {now}));
  for (const JobRecord& j : expired) {
    const JobExpiry x = ExpireLease(j);
    const bool retry = x.end == JobEnd::kReleased;
    Stmt u(db, retry ? "UPDATE jobs SET status = 'queued', worker = '', message = ? WHERE id = ?"
                     : "UPDATE jobs SET status = ?, message = ?, finished_ms = ? WHERE id = ?");
    if (retry)
      u.Bind(1, x.message).Bind(2, j.id);
    else
      u.Bind(1, std::string(JobEndStatus(x.end))).Bind(2, x.message).Bind(3, now).Bind(4, j.id);
    TML_RETURN_IF_ERROR(u.Run());
    TML_RETURN_IF_ERROR(SqliteAddJobEvent(db, j.id, JobEndEvent(x.end, x.message)));
  }
  TML_ASSIGN_OR_RETURN(
      auto next,
      Query(db,
            fmt::format("SELECT {} FROM jobs WHERE status = 'queued' AND (? = 0 OR id = ?) "
                        "ORDER BY id LIMIT 1",
                        kJobColumns),
            {}, {only_id, only_id}));
  if (next.empty()) return std::optional<JobRecord>();
  JobRecord j = next[0];
  j.status = "running";
  j.worker = worker;
  j.lease_until_ms = now + lease_ms;
  j.attempts += 1;
  j.started_ms = now;
  Stmt u(db,
         "UPDATE jobs SET status = 'running', worker = ?, lease_until_ms = ?, attempts = ?, "
         "started_ms = ?, message = '' WHERE id = ?");
  u.Bind(1, worker).Bind(2, j.lease_until_ms).Bind(3, int64_t{j.attempts}).Bind(4, now);
  TML_RETURN_IF_ERROR(u.Bind(5, j.id).Run());
  TML_RETURN_IF_ERROR(SqliteAddJobEvent(
      db, j.id,
      nlohmann::json{
          {"type", "status"}, {"status", "running"}, {"worker", worker}, {"attempt", j.attempts}}
          .dump()));
  return std::optional<JobRecord>(j);
}

}  // namespace

Result<int64_t> SqliteEnqueueJob(sqlite3* db, const std::string& kind, const std::string& params,
                                 int max_attempts) {
  Stmt s(db,
         "INSERT INTO jobs(kind, params, status, progress, message, result, worker, "
         "lease_until_ms, attempts, max_attempts, created_ms, started_ms, finished_ms) "
         "VALUES(?, ?, 'queued', 0, '', '{}', '', 0, 0, ?, ?, 0, 0)");
  s.Bind(1, kind).Bind(2, params).Bind(3, int64_t{std::max(1, max_attempts)}).Bind(4, NowMs());
  TML_RETURN_IF_ERROR(s.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}

Result<std::optional<JobRecord>> SqliteClaimJob(sqlite3* db, const std::string& worker,
                                                int64_t lease_ms, int64_t only_id) {
  TML_RETURN_IF_ERROR(ExecSql(db, "BEGIN IMMEDIATE"));
  auto r = Claim(db, worker, lease_ms, only_id);
  if (!r.ok()) {
    (void)ExecSql(db, "ROLLBACK");
    return r.status();
  }
  TML_RETURN_IF_ERROR(ExecSql(db, "COMMIT"));
  return r;
}

Status SqliteUpdateJob(sqlite3* db, int64_t id, const std::string& worker, int64_t lease_ms,
                       double progress, const std::string& message) {
  Stmt s(db,
         "UPDATE jobs SET lease_until_ms = ?, progress = ?, message = ? "
         "WHERE id = ? AND worker = ? AND status = 'running'");
  s.Bind(1, NowMs() + lease_ms).Bind(2, progress).Bind(3, message).Bind(4, id).Bind(5, worker);
  TML_RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db) != 1)
    return Status::Errorf("job {} is not running for worker {} (its lease was taken over)", id,
                          worker);
  return Status::Ok();
}

Status SqliteFinishJob(sqlite3* db, int64_t id, const std::string& worker, JobEnd end,
                       const std::string& result, const std::string& message) {
  TML_RETURN_IF_ERROR(ExecSql(db, "BEGIN IMMEDIATE"));
  Status st;
  if (end == JobEnd::kReleased) {
    Stmt s(db,
           "UPDATE jobs SET status = 'queued', worker = '', attempts = attempts - 1, message = ? "
           "WHERE id = ? AND worker = ? AND status = 'running'");
    st = s.Bind(1, message).Bind(2, id).Bind(3, worker).Run();
  } else {
    Stmt s(db,
           "UPDATE jobs SET status = ?, progress = ?, result = ?, message = ?, finished_ms = ? "
           "WHERE id = ? AND worker = ? AND status = 'running'");
    s.Bind(1, std::string(JobEndStatus(end))).Bind(2, end == JobEnd::kDone ? 1.0 : 0.0);
    s.Bind(3, result.empty() ? std::string("{}") : result).Bind(4, message).Bind(5, NowMs());
    st = s.Bind(6, id).Bind(7, worker).Run();
  }
  if (st.ok() && sqlite3_changes(db) != 1)
    st = Status::Errorf("job {} is not running for worker {} (its lease was taken over)", id,
                        worker);
  if (st.ok()) st = SqliteAddJobEvent(db, id, JobEndEvent(end, message));
  if (!st.ok()) {
    (void)ExecSql(db, "ROLLBACK");
    return st;
  }
  return ExecSql(db, "COMMIT");
}

Result<JobRecord> SqliteCancelJob(sqlite3* db, int64_t id) {
  TML_RETURN_IF_ERROR(ExecSql(db, "BEGIN IMMEDIATE"));
  auto r = [&]() -> Result<JobRecord> {
    TML_ASSIGN_OR_RETURN(JobRecord j, SqliteGetJob(db, id));
    TML_ASSIGN_OR_RETURN(JobCancel c, PlanCancel(j));
    if (c.at_once) {
      Stmt u(db, "UPDATE jobs SET status = 'cancelled', message = ?, finished_ms = ? WHERE id = ?");
      TML_RETURN_IF_ERROR(u.Bind(1, c.message).Bind(2, NowMs()).Bind(3, id).Run());
    } else {
      Stmt u(db, "UPDATE jobs SET cancel_requested = 1, message = ? WHERE id = ?");
      TML_RETURN_IF_ERROR(u.Bind(1, c.message).Bind(2, id).Run());
    }
    TML_RETURN_IF_ERROR(SqliteAddJobEvent(db, id, c.event));
    return SqliteGetJob(db, id);
  }();
  if (!r.ok()) {
    (void)ExecSql(db, "ROLLBACK");
    return r.status();
  }
  TML_RETURN_IF_ERROR(ExecSql(db, "COMMIT"));
  return r;
}

Result<JobRecord> SqliteGetJob(sqlite3* db, int64_t id) {
  TML_ASSIGN_OR_RETURN(
      auto jobs, Query(db, fmt::format("SELECT {} FROM jobs WHERE id = ?", kJobColumns), {}, {id}));
  if (jobs.empty()) return Status::NotFound("no job {}", id);
  return jobs[0];
}

Result<std::vector<JobRecord>> SqliteListJobs(sqlite3* db, const std::string& status,
                                              int64_t limit) {
  if (status.empty())
    return Query(db, fmt::format("SELECT {} FROM jobs ORDER BY id DESC LIMIT ?", kJobColumns), {},
                 {limit});
  return Query(
      db, fmt::format("SELECT {} FROM jobs WHERE status = ? ORDER BY id DESC LIMIT ?", kJobColumns),
      {status}, {limit});
}

Status SqliteAddJobEvent(sqlite3* db, int64_t job, const std::string& data) {
  Stmt s(db,
         "INSERT INTO job_events(job, seq, time_ms, data) "
         "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ? FROM job_events WHERE job = ?");
  return s.Bind(1, job).Bind(2, NowMs()).Bind(3, data).Bind(4, job).Run();
}

Result<std::vector<JobEvent>> SqliteJobEvents(sqlite3* db, int64_t job, int64_t after_seq) {
  Stmt s(db,
         "SELECT seq, time_ms, data FROM job_events WHERE job = ? AND seq > ? ORDER BY seq "
         "LIMIT 1000");
  TML_RETURN_IF_ERROR(s.status());
  s.Bind(1, job).Bind(2, after_seq);
  std::vector<JobEvent> out;
  for (;;) {
    TML_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Int(1), s.Text(2)});
  }
  return out;
}

}  // namespace tml::sqlite
