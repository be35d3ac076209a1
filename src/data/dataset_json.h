// The one JSON form of dataset versions and their statistics, shared by
// `data stats --json`, the API and the dashboard.
//
//   std::cout << DatasetStatsJson(stats).dump(2);
#pragma once

#include <nlohmann/json.hpp>

#include "data/dataset_store.h"

namespace tml {

nlohmann::json VersionJson(const VersionRecord& v);
// {dataset, version: VersionJson, members, splits: {train, val, test}, classes: [{label,
// train, val, test}] in class-index order, shapes: [{shape, count}], unlabeled}.
nlohmann::json DatasetStatsJson(const DatasetStats& s);

}  // namespace tml
