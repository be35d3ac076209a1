// What devices report, as the metadata store keeps it: raw messages (results,
// telemetry, command events), each once (a message id per device), bounded per device;
// and per-minute aggregates per device and model version, kept. Written by the
// control plane's ingest (fleet/telemetry_ingest.h), read by `tinymlaas telemetry`,
// rollouts and drift. One implementation over MetaStore::Query for both backends.
//
//   TML_ASSIGN_OR_RETURN(std::vector<bool> fresh, InsertTelemetry(db, batch));
//   TML_RETURN_IF_ERROR(PutTelemetryMinutes(db, touched));
//   TML_ASSIGN_OR_RETURN(auto minutes, FindTelemetryMinutes(db, {"m4-1", "", since_ms}));
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/distribution.h"
#include "store/meta_store.h"

namespace tml {

// One message a device (through its agent) published.
struct TelemetryRecord {
  int64_t id = 0;
  std::string device;
  std::string msg;   // unique per device: the agent's message id (or the body's hash)
  std::string kind;  // result, telemetry, shadow (a staged package's answer), detection, event
  int64_t model_version = 0;
  int64_t top_class = -1;
  double confidence = 0;
  int64_t ticks = 0;  // instructions under -icount (docs/protocol.md)
  int64_t sent_ms = 0, stored_ms = 0;
  std::string data;  // the message as it came (JSON)
};

// One device's minute under one model version.
struct TelemetryMinute {
  std::string device;
  int64_t minute_ms = 0;  // the minute's start (ms since the epoch)
  int64_t model_version = 0;
  int64_t inferences = 0;
  double confidence_sum = 0;
  int64_t ticks_sum = 0, ticks_max = 0;
  int64_t errors = 0;                // the device's error counter's rise, and failed commands
  int64_t resets = 0;                // restarts (its boot counter's rise)
  std::vector<int64_t> classes;      // inferences per top class
  std::vector<int64_t> confidences;  // inferences per confidence bin (core/distribution.h)

  // Adds b's counts to this one (same device, or a sum over devices).
  void Merge(const TelemetryMinute& b);
};

// Stores the records a message id has not stored yet; fresh[i]: record i was new.
Result<std::vector<bool>> InsertTelemetry(MetaStore& db, const std::vector<TelemetryRecord>& batch);
// Writes the minutes as they are (insert or replace).
Status PutTelemetryMinutes(MetaStore& db, const std::vector<TelemetryMinute>& minutes);
Result<std::optional<TelemetryMinute>> GetTelemetryMinute(MetaStore& db, const std::string& device,
                                                          int64_t minute_ms, int64_t model_version);
// The stored minutes of these devices that start at minute_ms (any model version).
Result<std::vector<TelemetryMinute>> GetTelemetryMinutes(MetaStore& db,
                                                         const std::vector<std::string>& devices,
                                                         int64_t minute_ms);

struct TelemetryQuery {
  std::string device;                  // "" = any
  std::string group;                   // "" = any
  int64_t since_ms = 0, until_ms = 0;  // until 0: now
  int64_t model_version = -1;          // -1 = any
};
// In time order, then device.
Result<std::vector<TelemetryMinute>> FindTelemetryMinutes(MetaStore& db, const TelemetryQuery& q);
// The newest raw records of a device (kind "" = any), newest first.
Result<std::vector<TelemetryRecord>> RecentTelemetry(MetaStore& db, const std::string& device,
                                                     const std::string& kind, int64_t limit);
Result<int64_t> CountTelemetry(MetaStore& db, const std::string& device);  // "" = all
// Raw records per device, for these devices (those with none are absent).
Result<std::map<std::string, int64_t>> CountTelemetryOf(MetaStore& db,
                                                        const std::vector<std::string>& devices);
// Deletes the device's oldest raw records beyond the newest `keep`; returns how many.
Result<int64_t> PruneTelemetry(MetaStore& db, const std::string& device, int64_t keep);

// Something the fleet should be told about (a drifting device, ...).
struct AlertRecord {
  int64_t id = 0;
  std::string kind;     // drift
  std::string subject;  // device:ID, group:G
  std::string message;
  std::string data;  // JSON
  int64_t created_ms = 0;
};
Result<int64_t> AddAlert(MetaStore& db, const AlertRecord& a);
// Newest first; subject "" = any.
Result<std::vector<AlertRecord>> ListAlerts(MetaStore& db, const std::string& subject,
                                            int64_t limit);

}  // namespace tml
