// What a job runs: a pipeline (its YAML text) or one component with its parameters
// (the `with` map of a pipeline step), so jobs get the step cache, lineage, run
// records and reports of pipelines. Checked when the job is submitted.
//
//   TML_ASSIGN_OR_RETURN(PipelineSpec p, JobPipeline("train", params_json, 7));
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "pipeline/pipeline_spec.h"

namespace tml {

// kind "pipeline": params {"yaml": TEXT}; a component name: params = its parameters.
Result<PipelineSpec> JobPipeline(const std::string& kind, const nlohmann::json& params,
                                 int64_t job_id);

// The job kinds, for errors and the API description.
std::vector<std::string> JobKinds();

}  // namespace tml
