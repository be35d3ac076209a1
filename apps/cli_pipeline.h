// `tinymlaas run PIPELINE.yaml`: a pipeline file, step by step, with the step cache.
#pragma once

#include <CLI/CLI.hpp>

namespace tml::cli {

CLI::App* AddRunCommand(CLI::App& app, int* exit_code);

}  // namespace tml::cli
