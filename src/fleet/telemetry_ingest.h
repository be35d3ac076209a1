// The control plane's telemetry ingest: device messages (results, telemetry, command
// outcomes, HELLOs) from the MQTT thread into the metadata store in batches, on a
// thread and a store connection of its own. Each message id is stored once (a broker
// that delivers twice, an agent flushing its buffer); the per-minute aggregates count
// only what was stored (store/telemetry_store.h). Resets are read from the boot
// counter (telemetry and HELLO), errors from the device's error counter and from
// failed commands.
//
//   TML_ASSIGN_OR_RETURN(auto ingest, TelemetryIngest::Start(std::move(db), {}));
//   ControlOptions o;  o.on_device_message = ingest->Sink();
//   ...
//   TML_RETURN_IF_ERROR(ingest->Flush(10000));   // what arrived so far is stored
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "store/meta_store.h"

namespace tml {

struct IngestOptions {
  // A batch starts as soon as the one before is committed (a group commit), gathering
  // for up to flush_ms after its first message (0: at once).
  int flush_ms = 10;
  size_t batch_max = 4000;        // or as soon as this many messages wait
  int64_t raw_per_device = 5000;  // raw messages kept per device (aggregates are kept)
  size_t queue_max = 1000000;     // beyond it the oldest waiting messages are dropped
};

struct IngestStats {
  int64_t received = 0;    // messages handed to the ingest
  int64_t stored = 0;      // raw records written
  int64_t duplicates = 0;  // message ids already stored
  int64_t ignored = 0;     // not telemetry (deploy progress) or malformed
  int64_t dropped = 0;     // lost to queue_max while the store could not keep up
  int64_t batches = 0, pruned = 0, write_errors = 0;
  // From the agent's sent_ms to the batch's commit, over the stored records.
  double latency_p50_ms = 0, latency_p99_ms = 0, latency_max_ms = 0;
  // The ingest's own share: from the message's arrival (the MQTT thread) to the commit.
  double store_p50_ms = 0, store_p99_ms = 0;
};

class TelemetryIngest {
 public:
  // db: a connection of its own; the ingest writes from its thread.
  static Result<std::unique_ptr<TelemetryIngest>> Start(std::unique_ptr<MetaStore> db,
                                                        const IngestOptions& o);
  ~TelemetryIngest();  // writes what waits, then stops
  TelemetryIngest(const TelemetryIngest&) = delete;
  TelemetryIngest& operator=(const TelemetryIngest&) = delete;

  // Any thread; cheap (queued for the writer).
  void Add(const std::string& device, const std::string& leaf, const nlohmann::json& body);
  // For ControlOptions::on_device_message.
  std::function<void(const std::string&, const std::string&, const nlohmann::json&)> Sink();
  // Returns once everything added before the call is written (or the error that stops it).
  Status Flush(int timeout_ms);
  IngestStats stats() const;

  struct State;

 private:
  TelemetryIngest() = default;
  std::unique_ptr<State> s_;
};

}  // namespace tml
