#include "store/meta_store.h"

#include <nlohmann/json.hpp>

namespace tml {

const char* SplitName(Split s) {
  switch (s) {
    case Split::kTrain:
      return "train";
    case Split::kVal:
      return "val";
    case Split::kTest:
      return "test";
  }
  return "train";
}

Result<Split> ParseSplit(const std::string& s) {
  if (s == "train") return Split::kTrain;
  if (s == "val" || s == "validation") return Split::kVal;
  if (s == "test") return Split::kTest;
  return Status::Errorf("unknown split '{}' (train, val, test)", s);
}

Result<VersionRecord> MetaStore::GetVersion(const std::string& dataset, int number) {
  TML_ASSIGN_OR_RETURN(auto all, ListVersions(dataset));
  if (all.empty()) return Status::NotFound("dataset '{}' has no versions", dataset);
  if (number == 0) return all.back();
  for (auto& v : all)
    if (v.number == number) return v;
  return Status::NotFound("dataset '{}' has no version {} (latest is {})", dataset, number,
                          all.back().number);
}

Result<std::unique_ptr<MetaStore>> OpenStore(const std::string& spec) {
  if (spec.rfind("postgresql://", 0) == 0 || spec.rfind("postgres://", 0) == 0)
    return OpenPostgresStore(spec);
  if (spec.rfind("sqlite:", 0) == 0) return OpenSqliteStore(spec.substr(7));
  if (spec.find("://") != std::string::npos)
    return Status::Errorf("database '{}': sqlite:PATH or postgresql://USER@HOST:PORT/DB", spec);
  return OpenSqliteStore(spec);
}

Result<ArtifactRecord> MetaStore::GetArtifact(const std::string& id) {
  TML_ASSIGN_OR_RETURN(auto found, FindArtifacts(id));
  for (ArtifactRecord& a : found)
    if (a.id == id) return std::move(a);
  return Status::NotFound("no artifact '{}'", id);
}

Result<DeviceRecord> MetaStore::GetDevice(const std::string& id) {
  if (id.empty()) return Status::Error("a device id is needed");
  TML_ASSIGN_OR_RETURN(auto found, FindDevices(id, ""));
  if (found.empty()) return Status::NotFound("no device '{}'", id);
  return std::move(found[0]);
}

const char* JobEndStatus(JobEnd e) {
  switch (e) {
    case JobEnd::kDone:
      return "done";
    case JobEnd::kFailed:
      return "failed";
    case JobEnd::kCancelled:
      return "cancelled";
    case JobEnd::kReleased:
      return "queued";
  }
  return "failed";
}

std::string JobEndEvent(JobEnd e, const std::string& message) {
  return nlohmann::json{{"type", "status"}, {"status", JobEndStatus(e)}, {"message", message}}
      .dump();
}

Result<JobCancel> PlanCancel(const JobRecord& j) {
  JobCancel c;
  if (j.status == "queued") {
    c.at_once = true;
    c.message = "cancelled before it started";
    c.event = JobEndEvent(JobEnd::kCancelled, c.message);
  } else if (j.status == "running") {
    c.message = fmt::format("cancelling: worker {} stops at its next checkpoint", j.worker);
    c.event = nlohmann::json{{"type", "cancel"}, {"message", c.message}}.dump();
  } else {
    return Status::FailedPrecondition("job {} has already ended ({})", j.id, j.status);
  }
  return c;
}

JobExpiry ExpireLease(const JobRecord& j) {
  if (j.cancel_requested)
    return {JobEnd::kCancelled,
            fmt::format("cancelled (worker {} stopped renewing its lease)", j.worker)};
  if (j.attempts < j.max_attempts)
    return {JobEnd::kReleased,
            fmt::format("worker {} stopped renewing its lease; queued again", j.worker)};
  return {JobEnd::kFailed,
          fmt::format("worker {} stopped renewing its lease; failed after {} attempts", j.worker,
                      j.attempts)};
}

}  // namespace tml
