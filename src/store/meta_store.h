// Metadata of the lifecycle (samples, annotations, datasets and their versions) behind
// an interface: SQLite is the embedded default (OpenSqliteStore); a PostgreSQL
// implementation fills the same interface. Sample bytes live in a BlobStore.
//
//   TML_ASSIGN_OR_RETURN(auto db, OpenSqliteStore(".tinymlaas/meta.db"));
//   Transaction tx(*db);                    // rolls back unless committed
//   TML_RETURN_IF_ERROR(db->PutSample(s));
//   TML_RETURN_IF_ERROR(tx.Commit());
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace tml {

struct SampleRecord {
  std::string id;    // content hash of the bytes
  std::string kind;  // image, audio, signal, tensor
  std::vector<int64_t> shape;
  std::string dtype;   // uint8, int16, float32
  std::string source;  // file (and index inside it) or device id
  int64_t created_ms = 0;
};

struct AnnotationRecord {
  int64_t id = 0;
  std::string sample;
  std::string kind;      // label, or boxes (the sample's label and its bounding boxes)
  std::string label;     // class name
  std::string geometry;  // boxes: JSON (data/boxes.h); empty for labels
  double confidence = 1.0;
  std::string author;  // a person, or "model:<id>"
  int64_t created_ms = 0;
};

enum class Split { kTrain = 0, kVal = 1, kTest = 2 };
const char* SplitName(Split s);
Result<Split> ParseSplit(const std::string& s);

// One sample of a dataset version, with the label annotation it carries there.
struct Member {
  std::string sample;
  int64_t annotation = 0;  // 0: unlabeled
  Split split = Split::kTrain;
  std::string label;  // filled by Members() from the annotation
  // and its boxes: the annotation's geometry when its kind is "boxes" (data/boxes.h)
  std::string boxes;
};

struct DatasetRecord {
  int64_t id = 0;
  std::string name;
  int64_t created_ms = 0;
  int latest_version = 0;  // 0: no version yet
};

struct VersionRecord {
  int64_t id = 0;
  std::string dataset;
  int number = 0;
  int64_t parent_id = 0;
  std::string note;
  std::vector<std::string> classes;  // index = class id
  int64_t created_ms = 0;
  int64_t members = 0;
};

// A training (or quantization, evaluation, ...) run: what went in, what came out.
struct RunRecord {
  int64_t id = 0;
  std::string kind;             // train, quantize, evaluate
  std::string status;           // running, done, failed
  std::string config;           // JSON: the spec, the options
  int64_t dataset_version = 0;  // dataset_versions.id, 0 if none
  std::string metrics;          // JSON
  std::string output;           // content id of the produced artifact
  int64_t started_ms = 0, duration_ms = 0;
  std::string tool_version;
};

// A pipeline step that ran: its cache key (content hashes of inputs, config, tool
// version) and its outputs (JSON object: output name -> value).
struct StepRecord {
  std::string key, pipeline, step, component, outputs;
  int64_t created_ms = 0;
};

// Anything the lifecycle produced, with the artifacts it was made from. Ids carry
// their kind: "dataset:fashion@2", "run:3", "model:<hash>", "firmware:<hash>",
// "eval:<hash>", "file:<hash>" (an input file such as a model spec).
struct ArtifactRecord {
  std::string id, kind, label, path;
  std::string metadata;              // JSON: what is known about it (metrics, sizes, ...)
  std::vector<std::string> parents;  // artifact ids
  int64_t created_ms = 0;
};

// Long work (training, quantization, compile, pipelines) queued in the database and
// executed by workers. A worker holds a job under a lease it renews; a job whose lease
// ran out (its worker died) is queued again, or failed after max_attempts.
struct JobRecord {
  int64_t id = 0;
  std::string kind;
  std::string params;   // JSON
  std::string status;   // queued, running, done, failed, cancelled
  double progress = 0;  // 0..1
  std::string message;  // the latest progress line, or the error
  std::string result;   // JSON
  std::string worker;
  int64_t lease_until_ms = 0;
  int attempts = 0, max_attempts = 2;
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
  bool cancel_requested = false;  // a running job asked to stop (its worker polls this)
};

// A device as the registry knows it: the gateway agent bridging it, its last HELLO
// (capabilities, slots, the active model) and its groups. Online while its agent is.
struct DeviceRecord {
  std::string id, agent;
  std::string capabilities;  // JSON: the HELLO (docs/fleet.md)
  std::vector<std::string> groups;
  bool online = false;
  int64_t first_seen_ms = 0, last_seen_ms = 0;
};

// One model sent to one device: sending, then active, refused (the device's checks
// said no, or nothing fit) or failed (the link or the agent broke).
struct DeploymentRecord {
  int64_t id = 0;
  std::string device;
  std::string model;    // the model's artifact id
  std::string package;  // the package's artifact id
  int64_t version = 0;
  std::string status, message;
  int64_t created_ms = 0, finished_ms = 0;
};

// How a worker ends its job: done or failed; cancelled (as it was asked to); released
// (the worker is stopping: the job is queued again and the attempt does not count).
enum class JobEnd { kDone, kFailed, kCancelled, kReleased };
const char* JobEndStatus(JobEnd e);  // the job's status after: done, failed, cancelled, queued

// For the store implementations: the status event of a job's end, and what a cancel
// does to a job (queued: cancelled at once; running: asked to stop; else an error).
std::string JobEndEvent(JobEnd e, const std::string& message);
struct JobCancel {
  bool at_once = false;
  std::string message, event;
};
Result<JobCancel> PlanCancel(const JobRecord& j);
// What a lease that ran out (the worker died) does to a job: queued again while attempts
// are left, else failed; cancelled if a cancel was asked for. `end` is never kDone.
struct JobExpiry {
  JobEnd end;
  std::string message;
};
JobExpiry ExpireLease(const JobRecord& j);

// One entry of a job's event stream (log lines, epochs, status changes), numbered from 1.
struct JobEvent {
  int64_t seq = 0, time_ms = 0;
  std::string data;  // JSON
};

// A parameter of a statement run by MetaStore::Query.
using SqlValue = std::variant<int64_t, double, std::string>;

// What a statement run by MetaStore::Query returned: each value as text (numbers in
// decimal), and how many rows it inserted, updated or deleted.
struct SqlRows {
  std::vector<std::vector<std::string>> rows;
  int64_t changes = 0;
  size_t size() const { return rows.size(); }
  bool empty() const { return rows.empty(); }
  const std::string& Text(size_t r, size_t c) const { return rows[r][c]; }
  int64_t Int(size_t r, size_t c) const { return std::strtoll(rows[r][c].c_str(), nullptr, 10); }
  double Real(size_t r, size_t c) const { return std::strtod(rows[r][c].c_str(), nullptr); }
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;

  virtual Status PutSample(const SampleRecord& s) = 0;  // no-op when the id exists
  virtual Result<SampleRecord> GetSample(const std::string& id) = 0;
  virtual Result<int64_t> AddAnnotation(const AnnotationRecord& a) = 0;
  virtual Result<std::vector<AnnotationRecord>> Annotations(const std::string& sample) = 0;

  // The dataset, created when absent; `created` (if given) says whether this call made it
  // (atomic: of two connections creating one name at once, exactly one is told so).
  virtual Result<DatasetRecord> EnsureDataset(const std::string& name, bool* created = nullptr) = 0;
  virtual Result<std::vector<DatasetRecord>> ListDatasets() = 0;
  // A new immutable version numbered latest + 1.
  virtual Result<VersionRecord> AddVersion(const std::string& dataset, int64_t parent_id,
                                           const std::string& note,
                                           const std::vector<std::string>& classes,
                                           const std::vector<Member>& members) = 0;
  // number 0: the latest version (from ListVersions).
  virtual Result<VersionRecord> GetVersion(const std::string& dataset, int number);
  virtual Result<std::vector<VersionRecord>> ListVersions(const std::string& dataset) = 0;
  // Members in insertion order, labels filled in.
  virtual Result<std::vector<Member>> Members(int64_t version_id) = 0;
  virtual Result<int64_t> AddRun(const RunRecord& r) = 0;
  // The step with this cache key, if one ran; a key that ran again replaces it.
  virtual Result<std::optional<StepRecord>> GetStep(const std::string& key) = 0;
  virtual Status PutStep(const StepRecord& s) = 0;
  // Inserts or updates the artifact (kind, label, path, metadata) and adds its parents;
  // an artifact without metadata ("{}") leaves a recorded one as it is.
  virtual Status PutArtifact(const ArtifactRecord& a) = 0;
  // Artifacts whose id starts with id_prefix, with or without the "kind:" part.
  virtual Result<std::vector<ArtifactRecord>> FindArtifacts(const std::string& id_prefix) = 0;
  // The artifact with exactly this id ("no artifact 'ID'" if none).
  Result<ArtifactRecord> GetArtifact(const std::string& id);
  // parents: the artifacts id was made from; otherwise the ones made from it.
  virtual Result<std::vector<std::string>> ArtifactEdges(const std::string& id, bool parents) = 0;
  // Writes status, metrics, output and duration of run r.id.
  virtual Status UpdateRun(const RunRecord& r) = 0;
  virtual Result<RunRecord> GetRun(int64_t id) = 0;
  virtual Result<std::vector<RunRecord>> ListRuns(const std::string& kind) = 0;  // "" = all

  virtual Result<int64_t> EnqueueJob(const std::string& kind, const std::string& params,
                                     int max_attempts) = 0;
  // The oldest queued job (only_id: that job, if it is queued), now running for
  // `worker` until now + lease_ms; none if there is no such job. Expired leases are
  // dealt with first (see JobRecord).
  virtual Result<std::optional<JobRecord>> ClaimJob(const std::string& worker, int64_t lease_ms,
                                                    int64_t only_id = 0) = 0;
  // Renews the lease and records progress; an error if the job is not (or no longer)
  // running for this worker.
  virtual Status UpdateJob(int64_t id, const std::string& worker, int64_t lease_ms, double progress,
                           const std::string& message) = 0;
  virtual Status FinishJob(int64_t id, const std::string& worker, JobEnd end,
                           const std::string& result, const std::string& message) = 0;
  // A queued job is cancelled at once; a running one is asked to stop (its worker
  // sees cancel_requested at its next heartbeat and ends it as cancelled). A job that
  // has ended is an error. Returns the job as it is now.
  virtual Result<JobRecord> CancelJob(int64_t id) = 0;
  virtual Result<JobRecord> GetJob(int64_t id) = 0;
  // Newest first; status "" = any.
  virtual Result<std::vector<JobRecord>> ListJobs(const std::string& status, int64_t limit) = 0;
  virtual Status AddJobEvent(int64_t job, const std::string& data) = 0;
  virtual Result<std::vector<JobEvent>> JobEvents(int64_t job, int64_t after_seq) = 0;
  // Calls on_event whenever any process adds a job event, until `stop` is set (blocks; on
  // its own connection). Stores that cannot be told (SQLite) return unavailable at once.
  virtual Status ListenForJobEvents(const std::atomic<bool>& stop,
                                    const std::function<void()>& on_event) {
    (void)stop, (void)on_event;
    return Status::Unavailable("this metadata store cannot notify job events");
  }

  // API tokens, stored as SHA-256 hex digests; TokenName: the name of a valid one.
  virtual Status AddToken(const std::string& name, const std::string& token_sha256) = 0;
  virtual Result<std::optional<std::string>> TokenName(const std::string& token_sha256) = 0;

  // The device registry. PutDevice inserts or updates agent, capabilities and
  // last_seen (groups are kept); SetAgentOnline records what the agent's state topic
  // says, which every device of that agent follows.
  virtual Status PutDevice(const DeviceRecord& d) = 0;
  virtual Status SetAgentOnline(const std::string& agent, bool online) = 0;
  virtual Status SetDeviceGroups(const std::string& device,
                                 const std::vector<std::string>& groups) = 0;
  // By id order; "" matches any id, any group.
  virtual Result<std::vector<DeviceRecord>> FindDevices(const std::string& id,
                                                        const std::string& group) = 0;
  Result<std::vector<DeviceRecord>> ListDevices(const std::string& group) {
    return FindDevices("", group);
  }
  // "no device 'ID'" if none.
  Result<DeviceRecord> GetDevice(const std::string& id);
  virtual Result<int64_t> AddDeployment(const DeploymentRecord& d) = 0;
  virtual Status FinishDeployment(int64_t id, const std::string& status,
                                  const std::string& message) = 0;
  // Newest first; device "" = all.
  virtual Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& device) = 0;

  // One statement in SQLite's dialect with `?` parameters, run as it is on SQLite and with
  // numbered ones ($1, ...) on PostgreSQL: for what is stored the same way on both (the
  // fleet's telemetry and rollouts: store/telemetry_store.h, store/rollout_store.h).
  // Portable SQL only (ON CONFLICT, RETURNING, multi-row VALUES; no NULL parameters).
  virtual Result<SqlRows> Query(const std::string& sql, const std::vector<SqlValue>& params) = 0;

  // "shape dtype" (shape as JSON) -> number of members of the version.
  virtual Result<std::vector<std::pair<std::string, int64_t>>> ShapeCounts(int64_t version_id) = 0;
};

// Opens (creating and migrating as needed) an SQLite database in WAL mode.
Result<std::unique_ptr<MetaStore>> OpenSqliteStore(const std::string& path);
// Connects to PostgreSQL ("postgresql://user@host:port/db") and migrates the schema.
Result<std::unique_ptr<MetaStore>> OpenPostgresStore(const std::string& url);
// "sqlite:PATH", a path, or a postgresql:// URL.
Result<std::unique_ptr<MetaStore>> OpenStore(const std::string& spec);

// Begins on construction; rolls back on destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(MetaStore& db) : db_(db) { status_ = db_.Begin(); }
  ~Transaction() {
    if (status_.ok() && !done_) (void)db_.Rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& status() const { return status_; }
  Status Commit() {
    if (!status_.ok()) return status_;
    done_ = true;
    return db_.Commit();
  }

 private:
  MetaStore& db_;
  Status status_;
  bool done_ = false;
};

}  // namespace tml
