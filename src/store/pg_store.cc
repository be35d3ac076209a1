// MetaStore on PostgreSQL (libpqxx): the schema of store/schema.h rewritten for
// PostgreSQL, migrations serialized by an advisory lock, job claims with
// FOR UPDATE SKIP LOCKED. One connection per store object, like the SQLite store;
// statements run outside pqxx transactions (nontransaction) so Begin / Commit map to
// BEGIN / COMMIT on the session.
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <type_traits>
#include <variant>

#include "core/clock.h"
#include "store/device_sql.h"
#include "store/meta_store.h"
#include "store/schema.h"

namespace tml {
namespace {

using json = nlohmann::json;

constexpr const char* kJobColumns =
    "id, kind, params, status, progress, message, result, worker, lease_until_ms, attempts, "
    "max_attempts, created_ms, started_ms, finished_ms, cancel_requested";

JobRecord ReadJob(const pqxx::row& r) {
  JobRecord j;
  j.id = r[0].as<int64_t>();
  j.kind = r[1].c_str();
  j.params = r[2].c_str();
  j.status = r[3].c_str();
  j.progress = r[4].as<double>();
  j.message = r[5].c_str();
  j.result = r[6].c_str();
  j.worker = r[7].c_str();
  j.lease_until_ms = r[8].as<int64_t>();
  j.attempts = r[9].as<int>();
  j.max_attempts = r[10].as<int>();
  j.created_ms = r[11].as<int64_t>();
  j.started_ms = r[12].as<int64_t>();
  j.finished_ms = r[13].as<int64_t>();
  j.cancel_requested = r[14].as<int64_t>() != 0;
  return j;
}

// A registry statement (device_sql.h) with PostgreSQL's numbered parameters.
const std::string& Sql(const char* sqlite_sql) {
  static thread_local std::map<const char*, std::string> cache;
  auto [it, fresh] = cache.try_emplace(sqlite_sql);
  if (fresh) it->second = device_sql::NumberedParams(sqlite_sql);
  return it->second;
}
// A statement given to Query (built at run time: its text is the key).
std::string Sql(const std::string& sqlite_sql) {
  return device_sql::NumberedParams(sqlite_sql.c_str());
}

class PgStore : public MetaStore {
 public:
  PgStore(std::unique_ptr<pqxx::connection> c, std::string url)
      : c_(std::move(c)), url_(std::move(url)) {}

  // Runs one statement with parameters ($1, $2, ...).
  template <typename... Args>
  Result<pqxx::result> Q(const std::string& sql, Args&&... args) {
    try {
      pqxx::nontransaction w(*c_);
      return w.exec_params(sql, std::forward<Args>(args)...);
    } catch (const pqxx::unique_violation& e) {
      return Status::AlreadyExists("database: {}", e.what());
    } catch (const pqxx::broken_connection& e) {
      return Status::Unavailable("database: {}", e.what());
    } catch (const std::exception& e) {
      return Status::Internal("database: {}", e.what());
    }
  }

  // SQL without parameters, possibly several statements (the simple query protocol).
  Status Exec(const std::string& sql) {
    try {
      pqxx::nontransaction w(*c_);
      w.exec(sql);
      return Status::Ok();
    } catch (const std::exception& e) {
      return Status::Internal("database: {}", e.what());
    }
  }

  Status Migrate() {
    const auto& all = SchemaMigrations();
    TML_RETURN_IF_ERROR(Exec("BEGIN"));
    // One migrating process at a time (a transaction-scoped advisory lock).
    Status st = Exec("SELECT pg_advisory_xact_lock(7361626)");
    if (st.ok()) st = Exec("CREATE TABLE IF NOT EXISTS schema_version(version BIGINT NOT NULL)");
    int64_t have = 0;
    if (st.ok()) {
      auto r = Q("SELECT COALESCE(MAX(version), 0) FROM schema_version");
      st = r.status();
      if (r.ok()) have = (*r)[0][0].as<int64_t>();
    }
    for (int64_t v = have; st.ok() && v < static_cast<int64_t>(all.size()); ++v) {
      st = Exec(ForPostgres(all[static_cast<size_t>(v)]));
      if (st.ok()) st = Q("INSERT INTO schema_version(version) VALUES($1)", v + 1).status();
      if (!st.ok()) st = st.Wrap(fmt::format("migration {}", v + 1));
    }
    if (st.ok() && have > static_cast<int64_t>(all.size()))
      st = Status::Errorf("database schema version {} is newer than this tool ({})", have,
                          all.size());
    if (!st.ok()) {
      (void)Exec("ROLLBACK");
      return st;
    }
    return Exec("COMMIT");
  }

  Status Begin() override {
    TML_RETURN_IF_ERROR(Exec("BEGIN"));
    in_transaction_ = true;
    return Status::Ok();
  }
  Status Commit() override {
    in_transaction_ = false;
    return Exec("COMMIT");
  }
  Status Rollback() override {
    in_transaction_ = false;
    return Exec("ROLLBACK");
  }

  Status PutSample(const SampleRecord& s) override {
    return Q("INSERT INTO samples(id, kind, shape, dtype, source, created_ms) "
             "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
             s.id, s.kind, json(s.shape).dump(), s.dtype, s.source,
             s.created_ms ? s.created_ms : NowMs())
        .status();
  }

  Result<SampleRecord> GetSample(const std::string& id) override {
    TML_ASSIGN_OR_RETURN(
        auto r, Q("SELECT kind, shape, dtype, source, created_ms FROM samples WHERE id = $1", id));
    if (r.empty()) return Status::NotFound("no sample {}", id);
    SampleRecord s;
    s.id = id;
    s.kind = r[0][0].c_str();
    const json shape = json::parse(r[0][1].c_str(), nullptr, false);
    if (shape.is_array())
      for (const auto& d : shape) s.shape.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
    s.dtype = r[0][2].c_str();
    s.source = r[0][3].c_str();
    s.created_ms = r[0][4].as<int64_t>();
    return s;
  }

  Result<int64_t> AddAnnotation(const AnnotationRecord& a) override {
    TML_ASSIGN_OR_RETURN(
        auto r,
        Q("INSERT INTO annotations(sample, kind, label, geometry, confidence, author, created_ms) "
          "VALUES($1, $2, $3, $4, $5, $6, $7) RETURNING id",
          a.sample, a.kind, a.label, a.geometry, a.confidence, a.author,
          a.created_ms ? a.created_ms : NowMs()));
    return r[0][0].as<int64_t>();
  }

  Result<std::vector<AnnotationRecord>> Annotations(const std::string& sample) override {
    TML_ASSIGN_OR_RETURN(auto r, Q("SELECT id, kind, label, geometry, confidence, author, "
                                   "created_ms FROM annotations WHERE sample = $1 ORDER BY id",
                                   sample));
    std::vector<AnnotationRecord> out;
    for (const auto& row : r)
      out.push_back({row[0].as<int64_t>(), sample, row[1].c_str(), row[2].c_str(), row[3].c_str(),
                     row[4].as<double>(), row[5].c_str(), row[6].as<int64_t>()});
    return out;
  }

  Result<DatasetRecord> EnsureDataset(const std::string& name, bool* created = nullptr) override {
    TML_ASSIGN_OR_RETURN(auto ins, Q("INSERT INTO datasets(name, created_ms) VALUES($1, $2) "
                                     "ON CONFLICT (name) DO NOTHING",
                                     name, NowMs()));
    if (created) *created = ins.affected_rows() == 1;
    TML_ASSIGN_OR_RETURN(auto all, QueryDatasets(name));
    if (all.empty()) return Status::Internal("dataset '{}' could not be created", name);
    return all[0];
  }

  Result<std::vector<DatasetRecord>> ListDatasets() override { return QueryDatasets(""); }

  Result<VersionRecord> AddVersion(const std::string& dataset, int64_t parent_id,
                                   const std::string& note, const std::vector<std::string>& classes,
                                   const std::vector<Member>& members) override {
    TML_ASSIGN_OR_RETURN(DatasetRecord d, EnsureDataset(dataset));
    TML_ASSIGN_OR_RETURN(
        auto r, Q("INSERT INTO dataset_versions(dataset_id, number, parent_id, note, classes, "
                  "created_ms) VALUES($1, $2, NULLIF($3::bigint, 0), $4, $5, $6) RETURNING id",
                  d.id, d.latest_version + 1, parent_id, note, json(classes).dump(), NowMs()));
    const int64_t vid = r[0][0].as<int64_t>();
    // Members in batches of one multi-row INSERT each.
    for (size_t start = 0; start < members.size(); start += 500) {
      std::string sql =
          "INSERT INTO version_members(version_id, pos, sample, annotation, split) VALUES ";
      const size_t end = std::min(members.size(), start + 500);
      try {
        pqxx::nontransaction w(*c_);
        for (size_t i = start; i < end; ++i) {
          const Member& m = members[i];
          sql += fmt::format("{}({}, {}, {}, {}, '{}')", i == start ? "" : ", ", vid, i,
                             w.quote(m.sample),
                             m.annotation ? std::to_string(m.annotation) : std::string("NULL"),
                             SplitName(m.split));
        }
        w.exec(sql);
      } catch (const std::exception& e) {
        return Status::Internal("database: {}", e.what());
      }
    }
    return GetVersion(dataset, d.latest_version + 1);
  }

  Result<std::vector<VersionRecord>> ListVersions(const std::string& dataset) override {
    TML_ASSIGN_OR_RETURN(
        auto r, Q("SELECT v.id, v.number, COALESCE(v.parent_id, 0), v.note, v.classes, "
                  "v.created_ms, (SELECT COUNT(*) FROM version_members m WHERE m.version_id = "
                  "v.id) FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id "
                  "WHERE d.name = $1 ORDER BY v.number",
                  dataset));
    std::vector<VersionRecord> out;
    for (const auto& row : r) {
      VersionRecord v;
      v.id = row[0].as<int64_t>();
      v.dataset = dataset;
      v.number = row[1].as<int>();
      v.parent_id = row[2].as<int64_t>();
      v.note = row[3].c_str();
      const json cls = json::parse(row[4].c_str(), nullptr, false);
      if (cls.is_array())
        for (const auto& c : cls) v.classes.push_back(c.is_string() ? c.get<std::string>() : "");
      v.created_ms = row[5].as<int64_t>();
      v.members = row[6].as<int64_t>();
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<std::vector<Member>> Members(int64_t version_id) override {
    TML_ASSIGN_OR_RETURN(
        auto r, Q("SELECT m.sample, COALESCE(m.annotation, 0), m.split, COALESCE(a.label, ''), "
                  "CASE WHEN a.kind = 'boxes' THEN a.geometry ELSE '' END "
                  "FROM version_members m LEFT JOIN annotations a ON a.id = m.annotation "
                  "WHERE m.version_id = $1 ORDER BY m.pos",
                  version_id));
    std::vector<Member> out;
    out.reserve(r.size());
    for (const auto& row : r) {
      Member m;
      m.sample = row[0].c_str();
      m.annotation = row[1].as<int64_t>();
      TML_ASSIGN_OR_RETURN(m.split, ParseSplit(row[2].c_str()));
      m.label = row[3].c_str();
      m.boxes = row[4].c_str();
      out.push_back(std::move(m));
    }
    return out;
  }

  Result<int64_t> AddRun(const RunRecord& r) override {
    TML_ASSIGN_OR_RETURN(
        auto x, Q("INSERT INTO runs(kind, status, config, dataset_version, metrics, output, "
                  "started_ms, duration_ms, tool_version) VALUES($1, $2, $3, "
                  "NULLIF($4::bigint, 0), $5, $6, $7, $8, $9) RETURNING id",
                  r.kind, r.status, r.config, r.dataset_version,
                  r.metrics.empty() ? std::string("{}") : r.metrics, r.output,
                  r.started_ms ? r.started_ms : NowMs(), r.duration_ms, r.tool_version));
    return x[0][0].as<int64_t>();
  }

  Result<std::optional<StepRecord>> GetStep(const std::string& key) override {
    TML_ASSIGN_OR_RETURN(auto r, Q("SELECT pipeline, step, component, outputs, created_ms FROM "
                                   "steps WHERE key = $1",
                                   key));
    if (r.empty()) return std::optional<StepRecord>();
    return std::optional<StepRecord>(StepRecord{key, r[0][0].c_str(), r[0][1].c_str(),
                                                r[0][2].c_str(), r[0][3].c_str(),
                                                r[0][4].as<int64_t>()});
  }

  Status PutStep(const StepRecord& s) override {
    return Q("INSERT INTO steps(key, pipeline, step, component, outputs, created_ms) "
             "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO UPDATE SET pipeline = "
             "excluded.pipeline, step = excluded.step, component = excluded.component, outputs = "
             "excluded.outputs, created_ms = excluded.created_ms",
             s.key, s.pipeline, s.step, s.component, s.outputs,
             s.created_ms ? s.created_ms : NowMs())
        .status();
  }

  Status PutArtifact(const ArtifactRecord& a) override {
    TML_RETURN_IF_ERROR(
        Q("INSERT INTO artifacts(id, kind, label, path, metadata, created_ms) "
          "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, "
          "label = excluded.label, path = excluded.path, metadata = excluded.metadata "
          "WHERE excluded.metadata <> '{}'",
          a.id, a.kind, a.label, a.path, a.metadata.empty() ? std::string("{}") : a.metadata,
          a.created_ms ? a.created_ms : NowMs())
            .status());
    for (const std::string& parent : a.parents)
      TML_RETURN_IF_ERROR(Q("INSERT INTO artifact_parents(child, parent) VALUES($1, $2) "
                            "ON CONFLICT DO NOTHING",
                            a.id, parent)
                              .status());
    return Status::Ok();
  }

  Result<std::vector<ArtifactRecord>> FindArtifacts(const std::string& id_prefix) override {
    const std::string pattern = LikeLiteral(id_prefix);
    TML_ASSIGN_OR_RETURN(auto r,
                         Q("SELECT id, kind, label, path, metadata, created_ms FROM artifacts "
                           "WHERE id LIKE $1 ESCAPE '\\' OR id LIKE $2 ESCAPE '\\' ORDER BY id",
                           pattern + "%", "%:" + pattern + "%"));
    std::vector<ArtifactRecord> out;
    for (const auto& row : r) {
      ArtifactRecord a{row[0].c_str(),      row[1].c_str(), row[2].c_str(),
                       row[3].c_str(),      row[4].c_str(), {},
                       row[5].as<int64_t>()};
      TML_ASSIGN_OR_RETURN(a.parents, ArtifactEdges(a.id, true));
      out.push_back(std::move(a));
    }
    return out;
  }

  Result<std::vector<std::string>> ArtifactEdges(const std::string& id, bool parents) override {
    TML_ASSIGN_OR_RETURN(
        auto r, Q(parents ? "SELECT parent FROM artifact_parents WHERE child = $1 ORDER BY parent"
                          : "SELECT child FROM artifact_parents WHERE parent = $1 ORDER BY child",
                  id));
    std::vector<std::string> out;
    for (const auto& row : r) out.push_back(row[0].c_str());
    return out;
  }

  Status UpdateRun(const RunRecord& r) override {
    TML_ASSIGN_OR_RETURN(
        auto x, Q("UPDATE runs SET status = $1, metrics = $2, output = $3, duration_ms = $4 "
                  "WHERE id = $5",
                  r.status, r.metrics.empty() ? std::string("{}") : r.metrics, r.output,
                  r.duration_ms, r.id));
    if (x.affected_rows() != 1) return Status::NotFound("no run {}", r.id);
    return Status::Ok();
  }

  Result<RunRecord> GetRun(int64_t id) override {
    TML_ASSIGN_OR_RETURN(auto runs, QueryRuns("WHERE id = $1", std::to_string(id)));
    if (runs.empty()) return Status::NotFound("no run {}", id);
    return runs[0];
  }

  Result<std::vector<RunRecord>> ListRuns(const std::string& kind) override {
    return kind.empty() ? QueryRuns("WHERE $1 = ''", "") : QueryRuns("WHERE kind = $1", kind);
  }

  Result<int64_t> EnqueueJob(const std::string& kind, const std::string& params,
                             int max_attempts) override {
    TML_ASSIGN_OR_RETURN(
        auto r, Q("INSERT INTO jobs(kind, params, status, progress, message, result, worker, "
                  "lease_until_ms, attempts, max_attempts, created_ms, started_ms, finished_ms) "
                  "VALUES($1, $2, 'queued', 0, '', '{}', '', 0, 0, $3, $4, 0, 0) RETURNING id",
                  kind, params, std::max(1, max_attempts), NowMs()));
    return r[0][0].as<int64_t>();
  }

  Result<std::optional<JobRecord>> ClaimJob(const std::string& worker, int64_t lease_ms,
                                            int64_t only_id) override {
    TML_RETURN_IF_ERROR(Exec("BEGIN"));
    auto r = Claim(worker, lease_ms, only_id);
    if (!r.ok()) {
      (void)Exec("ROLLBACK");
      return r.status();
    }
    TML_RETURN_IF_ERROR(Exec("COMMIT"));
    return r;
  }

  Status UpdateJob(int64_t id, const std::string& worker, int64_t lease_ms, double progress,
                   const std::string& message) override {
    TML_ASSIGN_OR_RETURN(auto r,
                         Q("UPDATE jobs SET lease_until_ms = $1, progress = $2, message = $3 "
                           "WHERE id = $4 AND worker = $5 AND status = 'running'",
                           NowMs() + lease_ms, progress, message, id, worker));
    if (r.affected_rows() != 1)
      return Status::Errorf("job {} is not running for worker {} (its lease was taken over)", id,
                            worker);
    return Status::Ok();
  }

  Status FinishJob(int64_t id, const std::string& worker, JobEnd end, const std::string& result,
                   const std::string& message) override {
    TML_RETURN_IF_ERROR(Exec("BEGIN"));
    auto r = end == JobEnd::kReleased
                 ? Q("UPDATE jobs SET status = 'queued', worker = '', attempts = attempts - 1, "
                     "message = $1 WHERE id = $2 AND worker = $3 AND status = 'running'",
                     message, id, worker)
                 : Q("UPDATE jobs SET status = $1, progress = $2, result = $3, message = $4, "
                     "finished_ms = $5 WHERE id = $6 AND worker = $7 AND status = 'running'",
                     std::string(JobEndStatus(end)), end == JobEnd::kDone ? 1.0 : 0.0,
                     result.empty() ? std::string("{}") : result, message, NowMs(), id, worker);
    Status st = r.status();
    if (st.ok() && r->affected_rows() != 1)
      st = Status::Errorf("job {} is not running for worker {} (its lease was taken over)", id,
                          worker);
    if (st.ok()) st = AddJobEvent(id, JobEndEvent(end, message));
    if (!st.ok()) {
      (void)Exec("ROLLBACK");
      return st;
    }
    return Exec("COMMIT");
  }

  Result<JobRecord> CancelJob(int64_t id) override {
    TML_RETURN_IF_ERROR(Exec("BEGIN"));
    auto r = [&]() -> Result<JobRecord> {
      TML_ASSIGN_OR_RETURN(
          auto rows,
          Q(fmt::format("SELECT {} FROM jobs WHERE id = $1 FOR UPDATE", kJobColumns), id));
      if (rows.empty()) return Status::NotFound("no job {}", id);
      TML_ASSIGN_OR_RETURN(JobCancel c, PlanCancel(ReadJob(rows[0])));
      TML_RETURN_IF_ERROR(
          (c.at_once ? Q("UPDATE jobs SET status = 'cancelled', message = $1, finished_ms = $2 "
                         "WHERE id = $3",
                         c.message, NowMs(), id)
                     : Q("UPDATE jobs SET cancel_requested = 1, message = $1 WHERE id = $2",
                         c.message, id))
              .status());
      TML_RETURN_IF_ERROR(AddJobEvent(id, c.event));
      return GetJob(id);
    }();
    if (!r.ok()) {
      (void)Exec("ROLLBACK");
      return r.status();
    }
    TML_RETURN_IF_ERROR(Exec("COMMIT"));
    return r;
  }

  Result<JobRecord> GetJob(int64_t id) override {
    TML_ASSIGN_OR_RETURN(auto r,
                         Q(fmt::format("SELECT {} FROM jobs WHERE id = $1", kJobColumns), id));
    if (r.empty()) return Status::NotFound("no job {}", id);
    return ReadJob(r[0]);
  }

  Result<std::vector<JobRecord>> ListJobs(const std::string& status, int64_t limit) override {
    TML_ASSIGN_OR_RETURN(
        auto r, Q(fmt::format("SELECT {} FROM jobs WHERE ($1 = '' OR status = $1) ORDER BY id "
                              "DESC LIMIT $2",
                              kJobColumns),
                  status, limit));
    std::vector<JobRecord> out;
    for (const auto& row : r) out.push_back(ReadJob(row));
    return out;
  }

  Status AddJobEvent(int64_t job, const std::string& data) override {
    // Events of a job are written by its worker (and by a claim that takes it over), one
    // at a time; a lost race on the number is retried.
    Status st;
    for (int attempt = 0; attempt < 3; ++attempt) {
      st = Q("INSERT INTO job_events(job, seq, time_ms, data) SELECT $1, COALESCE(MAX(seq), 0) "
             "+ 1, $2, $3 FROM job_events WHERE job = $1",
             job, NowMs(), data)
               .status();
      if (st.code() != StatusCode::kAlreadyExists) break;
    }
    TML_RETURN_IF_ERROR(st);
    return Q("SELECT pg_notify('tml_job_events', $1)", std::to_string(job)).status();
  }

  Status ListenForJobEvents(const std::atomic<bool>& stop,
                            const std::function<void()>& on_event) override {
    struct Receiver : pqxx::notification_receiver {
      Receiver(pqxx::connection_base& c, const std::function<void()>& f)
          : pqxx::notification_receiver(c, "tml_job_events"), f_(f) {}
      void operator()(const std::string&, int) override { f_(); }
      const std::function<void()>& f_;
    };
    try {
      pqxx::connection c(url_);
      Receiver r(c, on_event);
      while (!stop) c.await_notification(0, 200000);  // wakes every 200 ms to see `stop`
    } catch (const std::exception& e) {
      return Status::Unavailable("listening for job events: {}", e.what());
    }
    return Status::Ok();
  }

  Result<std::vector<JobEvent>> JobEvents(int64_t job, int64_t after_seq) override {
    TML_ASSIGN_OR_RETURN(auto r, Q("SELECT seq, time_ms, data FROM job_events WHERE job = $1 AND "
                                   "seq > $2 ORDER BY seq LIMIT 1000",
                                   job, after_seq));
    std::vector<JobEvent> out;
    for (const auto& row : r)
      out.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].c_str()});
    return out;
  }

  Status AddToken(const std::string& name, const std::string& token_sha256) override {
    return Q("INSERT INTO api_tokens(sha256, name, created_ms) VALUES($1, $2, $3)", token_sha256,
             name, NowMs())
        .status();
  }

  Result<std::optional<std::string>> TokenName(const std::string& token_sha256) override {
    TML_ASSIGN_OR_RETURN(auto r, Q("SELECT name FROM api_tokens WHERE sha256 = $1", token_sha256));
    if (r.empty()) return std::optional<std::string>();
    return std::optional<std::string>(r[0][0].c_str());
  }

  Status PutDevice(const DeviceRecord& d) override {
    if (d.id.empty()) return Status::Error("a device needs an id");
    const int64_t now = d.last_seen_ms ? d.last_seen_ms : NowMs();
    return Q(Sql(device_sql::kPutDevice), d.id, d.agent,
             d.capabilities.empty() ? std::string("{}") : d.capabilities,
             d.first_seen_ms ? d.first_seen_ms : now, now)
        .status();
  }
  Status SetAgentOnline(const std::string& agent, bool online) override {
    return Q(Sql(device_sql::kPutAgent), agent, static_cast<int64_t>(online), NowMs()).status();
  }
  Status SetDeviceGroups(const std::string& device,
                         const std::vector<std::string>& groups) override {
    TML_ASSIGN_OR_RETURN(auto r, Q(Sql(device_sql::kDeviceExists), device));
    if (r[0][0].as<int64_t>() == 0) return Status::NotFound("no device '{}'", device);
    // All or nothing: a savepoint inside the caller's transaction, else one of its own.
    const bool nested = in_transaction_;
    TML_RETURN_IF_ERROR(Exec(nested ? "SAVEPOINT groups" : "BEGIN"));
    Status st = Q(Sql(device_sql::kClearGroups), device).status();
    for (const std::string& g : groups)
      if (st.ok()) st = Q(Sql(device_sql::kAddGroup), device, g).status();
    if (nested)
      (void)Exec(st.ok() ? "RELEASE groups" : "ROLLBACK TO groups; RELEASE groups");
    else if (!st.ok())
      (void)Exec("ROLLBACK");
    else
      st = Exec("COMMIT");
    return st;
  }
  Result<std::vector<DeviceRecord>> FindDevices(const std::string& id,
                                                const std::string& group) override {
    TML_ASSIGN_OR_RETURN(auto r, Q(Sql(device_sql::kFindDevices), id, id, group, group));
    std::vector<DeviceRecord> out;
    for (const auto& row : r) {
      DeviceRecord d;
      d.id = row[0].c_str();
      d.agent = row[1].c_str();
      d.capabilities = row[2].c_str();
      d.online = row[3].as<int64_t>() != 0;
      d.first_seen_ms = row[4].as<int64_t>();
      d.last_seen_ms = row[5].as<int64_t>();
      TML_ASSIGN_OR_RETURN(auto g, Q(Sql(device_sql::kGroupsOf), d.id));
      for (const auto& gr : g) d.groups.push_back(gr[0].c_str());
      out.push_back(std::move(d));
    }
    return out;
  }
  Result<int64_t> AddDeployment(const DeploymentRecord& d) override {
    TML_ASSIGN_OR_RETURN(auto r, Q(Sql(device_sql::kAddDeployment), d.device, d.model, d.package,
                                   d.version, d.status.empty() ? std::string("sending") : d.status,
                                   d.message, d.created_ms ? d.created_ms : NowMs()));
    return r[0][0].as<int64_t>();
  }
  Status FinishDeployment(int64_t id, const std::string& status,
                          const std::string& message) override {
    TML_ASSIGN_OR_RETURN(auto r,
                         Q(Sql(device_sql::kFinishDeployment), status, message, NowMs(), id));
    if (r.affected_rows() != 1) return Status::NotFound("no deployment {}", id);
    return Status::Ok();
  }
  Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& device) override {
    TML_ASSIGN_OR_RETURN(auto r, Q(Sql(device_sql::kListDeployments), device, device));
    std::vector<DeploymentRecord> out;
    for (const auto& row : r)
      out.push_back({row[0].as<int64_t>(), row[1].c_str(), row[2].c_str(), row[3].c_str(),
                     row[4].as<int64_t>(), row[5].c_str(), row[6].c_str(), row[7].as<int64_t>(),
                     row[8].as<int64_t>()});
    return out;
  }

  Result<SqlRows> Query(const std::string& sql, const std::vector<SqlValue>& params) override {
    std::vector<std::string> text;
    text.reserve(params.size());
    for (const SqlValue& v : params)
      text.push_back(std::visit(
          [](const auto& x) -> std::string {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>)
              return x;
            else
              return fmt::format("{}", x);
          },
          v));
    TML_ASSIGN_OR_RETURN(auto r, Q(Sql(sql), pqxx::prepare::make_dynamic_params(text)));
    SqlRows out;
    out.changes = static_cast<int64_t>(r.affected_rows());
    for (const auto& row : r) {
      std::vector<std::string>& o = out.rows.emplace_back();
      for (const auto& f : row) o.push_back(f.is_null() ? std::string() : std::string(f.c_str()));
    }
    return out;
  }

  Result<std::vector<std::pair<std::string, int64_t>>> ShapeCounts(int64_t version_id) override {
    TML_ASSIGN_OR_RETURN(auto r,
                         Q("SELECT s.shape || ' ' || s.dtype, COUNT(*) FROM version_members m "
                           "JOIN samples s ON s.id = m.sample WHERE m.version_id = $1 GROUP BY 1 "
                           "ORDER BY 2 DESC",
                           version_id));
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& row : r) out.emplace_back(row[0].c_str(), row[1].as<int64_t>());
    return out;
  }

 private:
  Result<std::optional<JobRecord>> Claim(const std::string& worker, int64_t lease_ms,
                                         int64_t only_id) {
    const int64_t now = NowMs();
    TML_ASSIGN_OR_RETURN(auto expired,
                         Q(fmt::format("SELECT {} FROM jobs WHERE status = 'running' AND "
                                       "lease_until_ms < $1 FOR UPDATE SKIP LOCKED",
                                       kJobColumns),
                           now));
    for (const auto& row : expired) {
      const JobRecord j = ReadJob(row);
      const JobExpiry x = ExpireLease(j);
      TML_RETURN_IF_ERROR(
          (x.end == JobEnd::kReleased
               ? Q("UPDATE jobs SET status = 'queued', worker = '', message = $1 WHERE id = $2",
                   x.message, j.id)
               : Q("UPDATE jobs SET status = $1, message = $2, finished_ms = $3 WHERE id = $4",
                   std::string(JobEndStatus(x.end)), x.message, now, j.id))
              .status());
      TML_RETURN_IF_ERROR(AddJobEvent(j.id, JobEndEvent(x.end, x.message)));
    }
    TML_ASSIGN_OR_RETURN(
        auto r,
        Q(fmt::format("UPDATE jobs SET status = 'running', worker = $1, lease_until_ms = "
                      "$2, attempts = attempts + 1, started_ms = $3, message = '' WHERE "
                      "id = (SELECT id FROM jobs WHERE status = 'queued' AND ($4 = 0 OR id = $4) "
                      "ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING {}",
                      kJobColumns),
          worker, now + lease_ms, now, only_id));
    if (r.empty()) return std::optional<JobRecord>();
    JobRecord j = ReadJob(r[0]);
    TML_RETURN_IF_ERROR(AddJobEvent(
        j.id,
        json{{"type", "status"}, {"status", "running"}, {"worker", worker}, {"attempt", j.attempts}}
            .dump()));
    return std::optional<JobRecord>(j);
  }

  Result<std::vector<RunRecord>> QueryRuns(const std::string& where, const std::string& arg) {
    TML_ASSIGN_OR_RETURN(
        auto r, Q("SELECT id, kind, status, config, COALESCE(dataset_version, 0), metrics, "
                  "output, started_ms, duration_ms, tool_version FROM runs " +
                      where + " ORDER BY id",
                  arg));
    std::vector<RunRecord> out;
    for (const auto& row : r) {
      RunRecord x;
      x.id = row[0].as<int64_t>();
      x.kind = row[1].c_str();
      x.status = row[2].c_str();
      x.config = row[3].c_str();
      x.dataset_version = row[4].as<int64_t>();
      x.metrics = row[5].c_str();
      x.output = row[6].c_str();
      x.started_ms = row[7].as<int64_t>();
      x.duration_ms = row[8].as<int64_t>();
      x.tool_version = row[9].c_str();
      out.push_back(std::move(x));
    }
    return out;
  }

  Result<std::vector<DatasetRecord>> QueryDatasets(const std::string& name) {
    TML_ASSIGN_OR_RETURN(auto r,
                         Q("SELECT d.id, d.name, d.created_ms, COALESCE((SELECT MAX(number) FROM "
                           "dataset_versions v WHERE v.dataset_id = d.id), 0) FROM datasets d "
                           "WHERE ($1 = '' OR d.name = $1) ORDER BY d.name",
                           name));
    std::vector<DatasetRecord> out;
    for (const auto& row : r)
      out.push_back({row[0].as<int64_t>(), row[1].c_str(), row[2].as<int64_t>(), row[3].as<int>()});
    return out;
  }

  std::unique_ptr<pqxx::connection> c_;
  bool in_transaction_ = false;  // between Begin and Commit / Rollback
  std::string url_;              // for the LISTEN connection
};

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenPostgresStore(const std::string& url) {
  std::unique_ptr<pqxx::connection> c;
  try {
    c = std::make_unique<pqxx::connection>(url);
  } catch (const std::exception& e) {
    return Status::Unavailable("{}: cannot connect: {}", url, e.what());
  }
  auto store = std::make_unique<PgStore>(std::move(c), url);
  TML_RETURN_IF_ERROR(store->Migrate().Wrap(url));
  return std::unique_ptr<MetaStore>(std::move(store));
}

}  // namespace tml
