// The one JSON form of the metadata store's records (runs, artifacts, datasets, the
// device registry and what devices report),
// shared by `--json` output, the API and the dashboard. Stored JSON texts (a run's
// config and metrics, an artifact's metadata) are embedded parsed.
//
//   std::cout << RunJson(run).dump(2);
#pragma once

#include <nlohmann/json.hpp>

#include "store/meta_store.h"
#include "store/telemetry_store.h"

namespace tml {

// {id, kind, status, config, dataset_version_id, metrics, output, started_ms,
// duration_ms, tool_version}
nlohmann::json RunJson(const RunRecord& r);
// {id, kind, label, path, metadata, parents, created_ms}
nlohmann::json ArtifactJson(const ArtifactRecord& a);
// {name, latest_version, created_ms}
nlohmann::json DatasetJson(const DatasetRecord& d);
// {id, agent, online, groups, first_seen_ms, last_seen_ms, capabilities (the HELLO)}
nlohmann::json DeviceJson(const DeviceRecord& d);
// {id, device, model, package, version, status, message, created_ms, finished_ms}
nlohmann::json DeploymentJson(const DeploymentRecord& d);
// {device, minute_ms, model_version, inferences, confidence_mean, ticks_mean, ticks_max,
// errors, resets, classes, confidences}
nlohmann::json TelemetryMinuteJson(const TelemetryMinute& m);
// {id, kind, model_version, top_class, confidence, ticks, sent_ms, stored_ms}
nlohmann::json TelemetryRecordJson(const TelemetryRecord& r);
// {id, kind, subject, message, data, created_ms}
nlohmann::json AlertJson(const AlertRecord& a);

}  // namespace tml
