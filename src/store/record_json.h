// The one JSON form of the metadata store's records (runs, artifacts, datasets),
// shared by `--json` output, the API and the dashboard. Stored JSON texts (a run's
// config and metrics, an artifact's metadata) are embedded parsed.
//
//   std::cout << RunJson(run).dump(2);
#pragma once

#include <nlohmann/json.hpp>

#include "store/meta_store.h"

namespace tml {

// {id, kind, status, config, dataset_version_id, metrics, output, started_ms,
// duration_ms, tool_version}
nlohmann::json RunJson(const RunRecord& r);
// {id, kind, label, path, metadata, parents, created_ms}
nlohmann::json ArtifactJson(const ArtifactRecord& a);
// {name, latest_version, created_ms}
nlohmann::json DatasetJson(const DatasetRecord& d);

}  // namespace tml
