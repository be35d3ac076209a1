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
    const Status form = Status::Errorf(
        "{}: a pipeline job takes {{\"yaml\": PIPELINE_TEXT}}, and for a part of it \"only\": "
        "[STEP, ...] (those steps and what they read; a sweep's cells are such jobs, with "
        "\"parent\": JOB)",
        file);
    for (const auto& [k, v] : params.items())
      if (k != "yaml" && k != "only" && k != "parent") return form;
    if (!params.contains("yaml") || !params["yaml"].is_string()) return form;
    TML_ASSIGN_OR_RETURN(PipelineSpec p, ParsePipeline(params["yaml"].get<std::string>(), file));
    if (params.contains("parent") && !params["parent"].is_number_integer()) return form;
    if (!params.contains("only")) return p;
    if (!params["only"].is_array() || params["only"].empty()) return form;
    std::vector<std::string> only;
    for (const auto& step : params["only"]) {
      if (!step.is_string()) return form;
      if (!p.Find(step.get<std::string>()))
        return Status::Errorf("{}: only: no step '{}' in pipeline '{}'", file,
                              step.get<std::string>(), p.name);
      only.push_back(step.get<std::string>());
    }
    return SubPipeline(p, only);
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
