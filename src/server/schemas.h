// JSON schemas of the API's responses, one per resource. The OpenAPI document carries
// them (objects with a "title" are named types; the dashboard's TypeScript types are
// generated from them at build time, web/scripts/api-types.mjs), and a server started
// with ServeOptions::check_responses (the tests) refuses to send a response that does
// not fit its route's schema, so the document cannot drift from what handlers return.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tml::schema {

using json = nlohmann::json;

json Int();
json Num();
json Str();
json Bool();
json Any();  // any JSON value (free-form configs, metadata)
json Nullable(json s);
json Array(json items);
// An object; `required` lists the properties every response has (default: all of them).
json Object(const std::string& title, std::vector<std::pair<std::string, json>> properties,
            std::optional<std::vector<std::string>> required = std::nullopt);

json Health();
json Chain();
json Session();
json Dataset();
json Version();
json DatasetDetail();
json DatasetStats();
json UploadResult();
json SamplePage();
json VersionOnly();
json Job();
json JobEvent();
json Run();
json Artifact();
json Lineage();
json Target();
json Spec();
json Device();
json Deployment();
json DeviceDetail();
json DeviceTelemetry();
json Rollout();
json Drift();
json Alert();

}  // namespace tml::schema
