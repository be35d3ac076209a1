// `tinymlaas run PIPELINE.yaml`: a pipeline file, step by step, with the step cache;
// `tinymlaas lineage ID`: what an artifact was made from and what was made from it.
#pragma once

#include <CLI/CLI.hpp>

namespace tml::cli {

CLI::App* AddRunCommand(CLI::App& app, int* exit_code);
CLI::App* AddLineageCommand(CLI::App& app, int* exit_code);

}  // namespace tml::cli
