// MetaStore on SQLite: WAL journal, foreign keys on, the schema migrations of
// store/schema.h (applied in order inside one transaction each).
#include <sqlite3.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "store/meta_store.h"
#include "store/schema.h"
#include "store/sqlite_stmt.h"

namespace tml {

namespace {

using namespace sqlite;

class SqliteStore : public MetaStore {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    // Statements first: sqlite3_close refuses a connection with live statements.
    put_sample_.reset();
    add_annotation_.reset();
    queries_.clear();
    sqlite3_close(db_);
  }

  Status Exec(const char* sql) { return ExecSql(db_, sql); }

  Status Migrate() {
    // WAL with synchronous=NORMAL: a commit is not an fsync (the WAL is synced at
    // checkpoints); the database stays consistent after a crash of the process or the
    // machine, and a power cut loses at most the last commits.
    TML_RETURN_IF_ERROR(
        Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
             // Up to 32 MiB of pages per connection (2 by default): the telemetry's
             // indexes take random inserts and outgrow the default at a few hundred
             // thousand messages.
             "PRAGMA cache_size=-32768;"));
    sqlite3_busy_timeout(db_, 10000);
    TML_RETURN_IF_ERROR(
        Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
    // Each migration in its own write transaction, the version read inside it: several
    // processes opening a new database at once apply each migration exactly once.
    const int64_t want = static_cast<int64_t>(SchemaMigrations().size());
    for (;;) {
      TML_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
      int64_t have = 0;
      {
        Stmt s(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
        Status st = s.status();
        auto row = st.ok() ? s.Step() : Result<bool>(st);
        if (!row.ok()) {
          (void)Exec("ROLLBACK");
          return row.status();
        }
        if (*row) have = s.Int(0);
      }
      if (have >= want) {
        TML_RETURN_IF_ERROR(Exec("COMMIT"));
        if (have > want)
          return Status::Errorf("database schema version {} is newer than this tool ({})", have,
                                want);
        return Status::Ok();
      }
      Status st = Exec(SchemaMigrations()[static_cast<size_t>(have)].c_str());
      if (st.ok()) {
        Stmt s(db_, "INSERT INTO schema_version(version) VALUES(?)");
        st = s.Bind(1, have + 1).Run();
      }
      if (!st.ok()) {
        (void)Exec("ROLLBACK");
        return st.Wrap(fmt::format("migration {}", have + 1));
      }
      TML_RETURN_IF_ERROR(Exec("COMMIT"));
    }
  }

  Status Begin() override { return Exec("BEGIN IMMEDIATE"); }
  Status Commit() override { return Exec("COMMIT"); }
  Status Rollback() override { return Exec("ROLLBACK"); }

  Status PutSample(const SampleRecord& s) override {
    if (!put_sample_)
      put_sample_ = std::make_unique<Stmt>(
          db_,
          "INSERT OR IGNORE INTO samples(id, kind, shape, dtype, source, created_ms) "
          "VALUES(?, ?, ?, ?, ?, ?)");
    Stmt& st = *put_sample_;
    TML_RETURN_IF_ERROR(st.status());
    st.Reset();
    st.Bind(1, s.id).Bind(2, s.kind).Bind(3, nlohmann::json(s.shape).dump()).Bind(4, s.dtype);
    st.Bind(5, s.source).Bind(6, s.created_ms ? s.created_ms : NowMs());
    return st.Run();
  }

  Result<SampleRecord> GetSample(const std::string& id) override {
    Stmt s(db_, "SELECT kind, shape, dtype, source, created_ms FROM samples WHERE id = ?");
    TML_RETURN_IF_ERROR(s.status());
    s.Bind(1, id);
    TML_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Status::NotFound("no sample {}", id);
    SampleRecord r;
    r.id = id;
    r.kind = s.Text(0);
    const auto shape = nlohmann::json::parse(s.Text(1), nullptr, false);
    if (shape.is_array())
      for (const auto& d : shape) r.shape.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
    r.dtype = s.Text(2);
    r.source = s.Text(3);
    r.created_ms = s.Int(4);
    return r;
  }

  Result<int64_t> AddAnnotation(const AnnotationRecord& a) override {
    if (!add_annotation_)
      add_annotation_ = std::make_unique<Stmt>(
          db_,
          "INSERT INTO annotations(sample, kind, label, geometry, confidence, author, created_ms) "
          "VALUES(?, ?, ?, ?, ?, ?, ?)");
    Stmt& st = *add_annotation_;
    TML_RETURN_IF_ERROR(st.status());
    st.Reset();
    st.Bind(1, a.sample).Bind(2, a.kind).Bind(3, a.label).Bind(4, a.geometry);
    st.Bind(5, a.confidence).Bind(6, a.author).Bind(7, a.created_ms ? a.created_ms : NowMs());
    TML_RETURN_IF_ERROR(st.Run());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::vector<AnnotationRecord>> Annotations(const std::string& sample) override {
    Stmt s(db_,
           "SELECT id, kind, label, geometry, confidence, author, created_ms FROM annotations "
           "WHERE sample = ? ORDER BY id");
    TML_RETURN_IF_ERROR(s.status());
    s.Bind(1, sample);
    std::vector<AnnotationRecord> out;
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      AnnotationRecord a;
      a.id = s.Int(0);
      a.sample = sample;
      a.kind = s.Text(1);
      a.label = s.Text(2);
      a.geometry = s.Text(3);
      a.confidence = s.Double(4);
      a.author = s.Text(5);
      a.created_ms = s.Int(6);
      out.push_back(std::move(a));
    }
    return out;
  }

  Result<DatasetRecord> EnsureDataset(const std::string& name, bool* created = nullptr) override {
    Stmt ins(db_, "INSERT OR IGNORE INTO datasets(name, created_ms) VALUES(?, ?)");
    TML_RETURN_IF_ERROR(ins.Bind(1, name).Bind(2, NowMs()).Run());
    if (created) *created = sqlite3_changes(db_) == 1;
    TML_ASSIGN_OR_RETURN(auto all, QueryDatasets("WHERE d.name = ?", name));
    if (all.empty()) return Status::Internal("dataset '{}' could not be created", name);
    return all[0];
  }

  Result<std::vector<DatasetRecord>> ListDatasets() override { return QueryDatasets("", ""); }

  Result<VersionRecord> AddVersion(const std::string& dataset, int64_t parent_id,
                                   const std::string& note, const std::vector<std::string>& classes,
                                   const std::vector<Member>& members) override {
    TML_ASSIGN_OR_RETURN(DatasetRecord d, EnsureDataset(dataset));
    Stmt ins(db_,
             "INSERT INTO dataset_versions(dataset_id, number, parent_id, note, classes, "
             "created_ms) VALUES(?, ?, ?, ?, ?, ?)");
    ins.Bind(1, d.id).Bind(2, int64_t{d.latest_version + 1}).BindNullIfZero(3, parent_id);
    ins.Bind(4, note).Bind(5, nlohmann::json(classes).dump()).Bind(6, NowMs());
    TML_RETURN_IF_ERROR(ins.Run());
    const int64_t vid = sqlite3_last_insert_rowid(db_);
    Stmt m(db_,
           "INSERT INTO version_members(version_id, pos, sample, annotation, split) "
           "VALUES(?, ?, ?, ?, ?)");
    TML_RETURN_IF_ERROR(m.status());
    for (size_t i = 0; i < members.size(); ++i) {
      m.Reset();
      m.Bind(1, vid).Bind(2, static_cast<int64_t>(i)).Bind(3, members[i].sample);
      m.BindNullIfZero(4, members[i].annotation).Bind(5, std::string(SplitName(members[i].split)));
      TML_RETURN_IF_ERROR(m.Run().Wrap(fmt::format("member {} ({})", i, members[i].sample)));
    }
    return GetVersion(dataset, d.latest_version + 1);
  }

  Result<std::vector<VersionRecord>> ListVersions(const std::string& dataset) override {
    Stmt s(db_,
           "SELECT v.id, v.number, COALESCE(v.parent_id, 0), v.note, v.classes, v.created_ms, "
           "(SELECT COUNT(*) FROM version_members m WHERE m.version_id = v.id) "
           "FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE d.name = ? "
           "ORDER BY v.number");
    TML_RETURN_IF_ERROR(s.status());
    s.Bind(1, dataset);
    std::vector<VersionRecord> out;
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      VersionRecord v;
      v.id = s.Int(0);
      v.dataset = dataset;
      v.number = static_cast<int>(s.Int(1));
      v.parent_id = s.Int(2);
      v.note = s.Text(3);
      auto cls = nlohmann::json::parse(s.Text(4), nullptr, false);
      if (cls.is_array())
        for (auto& c : cls) v.classes.push_back(c.is_string() ? c.get<std::string>() : "");
      v.created_ms = s.Int(5);
      v.members = s.Int(6);
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<std::vector<Member>> Members(int64_t version_id) override {
    Stmt s(db_,
           "SELECT m.sample, COALESCE(m.annotation, 0), m.split, COALESCE(a.label, ''), "
           "CASE WHEN a.kind = 'boxes' THEN a.geometry ELSE '' END "
           "FROM version_members m LEFT JOIN annotations a ON a.id = m.annotation "
           "WHERE m.version_id = ? ORDER BY m.pos");
    TML_RETURN_IF_ERROR(s.status());
    s.Bind(1, version_id);
    std::vector<Member> out;
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      Member m;
      m.sample = s.Text(0);
      m.annotation = s.Int(1);
      TML_ASSIGN_OR_RETURN(m.split, ParseSplit(s.Text(2)));
      m.label = s.Text(3);
      m.boxes = s.Text(4);
      out.push_back(std::move(m));
    }
    return out;
  }

  Result<int64_t> AddRun(const RunRecord& r) override {
    Stmt s(db_,
           "INSERT INTO runs(kind, status, config, dataset_version, metrics, output, started_ms, "
           "duration_ms, tool_version) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.Bind(1, r.kind).Bind(2, r.status).Bind(3, r.config).BindNullIfZero(4, r.dataset_version);
    s.Bind(5, r.metrics.empty() ? std::string("{}") : r.metrics).Bind(6, r.output);
    s.Bind(7, r.started_ms ? r.started_ms : NowMs()).Bind(8, r.duration_ms).Bind(9, r.tool_version);
    TML_RETURN_IF_ERROR(s.Run());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::optional<StepRecord>> GetStep(const std::string& key) override {
    Stmt s(db_, "SELECT pipeline, step, component, outputs, created_ms FROM steps WHERE key = ?");
    TML_RETURN_IF_ERROR(s.status());
    s.Bind(1, key);
    TML_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<StepRecord>();
    return std::optional<StepRecord>(
        StepRecord{key, s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4)});
  }

  Status PutStep(const StepRecord& r) override {
    Stmt s(db_,
           "INSERT OR REPLACE INTO steps(key, pipeline, step, component, outputs, created_ms) "
           "VALUES(?, ?, ?, ?, ?, ?)");
    s.Bind(1, r.key).Bind(2, r.pipeline).Bind(3, r.step).Bind(4, r.component).Bind(5, r.outputs);
    return s.Bind(6, r.created_ms ? r.created_ms : NowMs()).Run();
  }

  Status PutArtifact(const ArtifactRecord& a) override {
    Stmt s(db_,
           "INSERT INTO artifacts(id, kind, label, path, metadata, created_ms) "
           "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, "
           "label = excluded.label, path = excluded.path, metadata = excluded.metadata "
           "WHERE excluded.metadata <> '{}'");
    s.Bind(1, a.id).Bind(2, a.kind).Bind(3, a.label).Bind(4, a.path);
    s.Bind(5, a.metadata.empty() ? std::string("{}") : a.metadata);
    TML_RETURN_IF_ERROR(s.Bind(6, a.created_ms ? a.created_ms : NowMs()).Run());
    Stmt e(db_, "INSERT OR IGNORE INTO artifact_parents(child, parent) VALUES(?, ?)");
    for (const std::string& parent : a.parents) {
      e.Reset();
      TML_RETURN_IF_ERROR(e.Bind(1, a.id).Bind(2, parent).Run());
    }
    return Status::Ok();
  }

  Result<std::vector<ArtifactRecord>> FindArtifacts(const std::string& id_prefix) override {
    const std::string pattern = LikeLiteral(id_prefix);
    return QueryArtifacts(
        "SELECT id, kind, label, path, metadata, created_ms FROM artifacts "
        "WHERE id LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' ORDER BY id",
        {pattern + "%", "%:" + pattern + "%"});
  }

  Result<std::vector<std::string>> ArtifactEdges(const std::string& id, bool parents) override {
    Stmt s(db_, parents ? "SELECT parent FROM artifact_parents WHERE child = ? ORDER BY parent"
                        : "SELECT child FROM artifact_parents WHERE parent = ? ORDER BY child");
    TML_RETURN_IF_ERROR(s.status());
    s.Bind(1, id);
    std::vector<std::string> out;
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(s.Text(0));
    }
    return out;
  }

  Result<int64_t> EnqueueJob(const std::string& kind, const std::string& params,
                             int max_attempts) override {
    return SqliteEnqueueJob(db_, kind, params, max_attempts);
  }
  Result<std::optional<JobRecord>> ClaimJob(const std::string& worker, int64_t lease_ms,
                                            int64_t only_id) override {
    return SqliteClaimJob(db_, worker, lease_ms, only_id);
  }
  Status UpdateJob(int64_t id, const std::string& worker, int64_t lease_ms, double progress,
                   const std::string& message) override {
    return SqliteUpdateJob(db_, id, worker, lease_ms, progress, message);
  }
  Status FinishJob(int64_t id, const std::string& worker, JobEnd end, const std::string& result,
                   const std::string& message) override {
    return SqliteFinishJob(db_, id, worker, end, result, message);
  }
  Result<JobRecord> CancelJob(int64_t id) override { return SqliteCancelJob(db_, id); }
  Result<JobRecord> GetJob(int64_t id) override { return SqliteGetJob(db_, id); }
  Result<std::vector<JobRecord>> ListJobs(const std::string& status, int64_t limit) override {
    return SqliteListJobs(db_, status, limit);
  }
  Status AddJobEvent(int64_t job, const std::string& data) override {
    return SqliteAddJobEvent(db_, job, data);
  }
  Result<std::vector<JobEvent>> JobEvents(int64_t job, int64_t after_seq) override {
    return SqliteJobEvents(db_, job, after_seq);
  }
  Status PutDevice(const DeviceRecord& d) override { return SqlitePutDevice(db_, d); }
  Status SetAgentOnline(const std::string& agent, bool online) override {
    return SqliteSetAgentOnline(db_, agent, online);
  }
  Status SetDeviceGroups(const std::string& device,
                         const std::vector<std::string>& groups) override {
    return SqliteSetDeviceGroups(db_, device, groups);
  }
  Result<std::vector<DeviceRecord>> FindDevices(const std::string& id,
                                                const std::string& group) override {
    return SqliteFindDevices(db_, id, group);
  }
  Result<int64_t> AddDeployment(const DeploymentRecord& d) override {
    return SqliteAddDeployment(db_, d);
  }
  Status FinishDeployment(int64_t id, const std::string& status,
                          const std::string& message) override {
    return SqliteFinishDeployment(db_, id, status, message);
  }
  Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& device) override {
    return SqliteListDeployments(db_, device);
  }
  Status AddToken(const std::string& name, const std::string& token_sha256) override {
    Stmt s(db_, "INSERT INTO api_tokens(sha256, name, created_ms) VALUES(?, ?, ?)");
    return s.Bind(1, token_sha256).Bind(2, name).Bind(3, NowMs()).Run();
  }
  Result<std::optional<std::string>> TokenName(const std::string& token_sha256) override {
    Stmt s(db_, "SELECT name FROM api_tokens WHERE sha256 = ?");
    TML_RETURN_IF_ERROR(s.status());
    s.Bind(1, token_sha256);
    TML_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? std::optional<std::string>(s.Text(0)) : std::nullopt;
  }

  Status UpdateRun(const RunRecord& r) override {
    Stmt s(db_,
           "UPDATE runs SET status = ?, metrics = ?, output = ?, duration_ms = ? WHERE id = ?");
    s.Bind(1, r.status).Bind(2, r.metrics.empty() ? std::string("{}") : r.metrics);
    s.Bind(3, r.output).Bind(4, r.duration_ms).Bind(5, r.id);
    TML_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_) != 1) return Status::NotFound("no run {}", r.id);
    return Status::Ok();
  }

  Result<RunRecord> GetRun(int64_t id) override {
    TML_ASSIGN_OR_RETURN(auto runs, QueryRuns("WHERE id = ?", id, ""));
    if (runs.empty()) return Status::NotFound("no run {}", id);
    return runs[0];
  }

  Result<std::vector<RunRecord>> ListRuns(const std::string& kind) override {
    return kind.empty() ? QueryRuns("", 0, "") : QueryRuns("WHERE kind = ?", 0, kind);
  }

  Result<SqlRows> Query(const std::string& sql, const std::vector<SqlValue>& params) override {
    // Prepared once per connection: the ingest's multi-row statements cost more to parse
    // than to run.
    auto it = queries_.find(sql);
    if (it == queries_.end()) {
      auto fresh = std::make_unique<Stmt>(db_, sql.c_str());
      TML_RETURN_IF_ERROR(fresh->status());
      if (queries_.size() >= 64) queries_.clear();
      it = queries_.emplace(sql, std::move(fresh)).first;
    }
    Stmt& s = *it->second;
    s.Reset();
    for (size_t i = 0; i < params.size(); ++i)
      std::visit([&](const auto& v) { s.Bind(static_cast<int>(i + 1), v); }, params[i]);
    SqlRows out;
    for (;;) {
      auto row = s.Step();
      if (!row.ok()) {
        s.Reset();
        return row.status();
      }
      if (!*row) break;
      std::vector<std::string>& r = out.rows.emplace_back();
      for (int c = 0; c < s.Columns(); ++c) r.push_back(s.Text(c));
    }
    out.changes = sqlite3_changes(db_);
    s.Reset();  // no read snapshot kept between calls
    return out;
  }

  Result<std::vector<std::pair<std::string, int64_t>>> ShapeCounts(int64_t version_id) override {
    Stmt s(db_,
           "SELECT s.shape || ' ' || s.dtype, COUNT(*) FROM version_members m "
           "JOIN samples s ON s.id = m.sample WHERE m.version_id = ? GROUP BY 1 ORDER BY 2 DESC");
    TML_RETURN_IF_ERROR(s.status());
    s.Bind(1, version_id);
    std::vector<std::pair<std::string, int64_t>> out;
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.emplace_back(s.Text(0), s.Int(1));
    }
    return out;
  }

 private:
  Result<std::vector<ArtifactRecord>> QueryArtifacts(const char* sql,
                                                     const std::vector<std::string>& args) {
    Stmt s(db_, sql);
    TML_RETURN_IF_ERROR(s.status());
    for (size_t i = 0; i < args.size(); ++i) s.Bind(static_cast<int>(i + 1), args[i]);
    std::vector<ArtifactRecord> out;
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ArtifactRecord a{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), {}, s.Int(5)};
      out.push_back(std::move(a));
    }
    for (ArtifactRecord& a : out) {
      TML_ASSIGN_OR_RETURN(a.parents, ArtifactEdges(a.id, true));
    }
    return out;
  }

  Result<std::vector<RunRecord>> QueryRuns(const std::string& where, int64_t id,
                                           const std::string& kind) {
    const std::string sql =
        "SELECT id, kind, status, config, COALESCE(dataset_version, 0), metrics, output, "
        "started_ms, duration_ms, tool_version FROM runs " +
        where + " ORDER BY id";
    Stmt s(db_, sql.c_str());
    TML_RETURN_IF_ERROR(s.status());
    if (!where.empty()) {
      if (kind.empty())
        s.Bind(1, id);
      else
        s.Bind(1, kind);
    }
    std::vector<RunRecord> out;
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      RunRecord r;
      r.id = s.Int(0);
      r.kind = s.Text(1);
      r.status = s.Text(2);
      r.config = s.Text(3);
      r.dataset_version = s.Int(4);
      r.metrics = s.Text(5);
      r.output = s.Text(6);
      r.started_ms = s.Int(7);
      r.duration_ms = s.Int(8);
      r.tool_version = s.Text(9);
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::vector<DatasetRecord>> QueryDatasets(const std::string& where,
                                                   const std::string& arg) {
    const std::string sql =
        "SELECT d.id, d.name, d.created_ms, "
        "COALESCE((SELECT MAX(number) FROM dataset_versions v WHERE v.dataset_id = d.id), 0) "
        "FROM datasets d " +
        where + " ORDER BY d.name";
    Stmt s(db_, sql.c_str());
    TML_RETURN_IF_ERROR(s.status());
    if (!where.empty()) s.Bind(1, arg);
    std::vector<DatasetRecord> out;
    for (;;) {
      TML_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back({s.Int(0), s.Text(1), s.Int(2), static_cast<int>(s.Int(3))});
    }
    return out;
  }

  sqlite3* db_;
  std::unique_ptr<Stmt> put_sample_, add_annotation_;
  std::map<std::string, std::unique_ptr<Stmt>> queries_;  // Query's, by their SQL
};

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenSqliteStore(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Status st = Status::Errorf("{}: cannot open database: {}", path,
                               db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return st;
  }
  auto store = std::make_unique<SqliteStore>(db);
  TML_RETURN_IF_ERROR(store->Migrate().Wrap(path));
  return std::unique_ptr<MetaStore>(std::move(store));
}

}  // namespace tml
