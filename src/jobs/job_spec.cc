#include "jobs/job_spec.h"

#include <fmt/format.h>

namespace tml {

std::vector<std::string> JobKinds() {
  std::vector<std::string> k = {"pipeline"};
  for (const ComponentSchema& c : Components()) k.push_back(c.name);
  return k;
}

Result<PipelineSpec> JobPipeline(const std::string& kind, const nlohmann::json& params,
                                 int64_t job_id) {
  const std::string file = job_id ? fmt::format("job {}", job_id) : std::string("job");
  if (!params.is_object()) return Status::Errorf("{}: params must be an object", file);
  if (kind == "pipeline") {
    if (!params.contains("yaml") || !params["yaml"].is_string() || params.size() != 1)
      return Status::Errorf("{}: a pipeline job takes {{\"yaml\": PIPELINE_TEXT}}", file);
    return ParsePipeline(params["yaml"].get<std::string>(), file);
  }
  const auto kinds = JobKinds();
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
    return Status::Errorf("{}: unknown job kind '{}' (known: {})", file, kind,
                          fmt::join(kinds, ", "));
  // One step; JSON is YAML, so the pipeline parser checks the parameters.
  const nlohmann::json p = {{"name", kind},
                            {"steps", {{{"name", kind}, {"component", kind}, {"with", params}}}}};
  return ParsePipeline(p.dump(), file);
}

}  // namespace tml
