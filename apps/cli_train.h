// `tinymlaas train`: a model spec trained on a dataset version with libtorch.
#pragma once

#include <CLI/CLI.hpp>

namespace tml::cli {

CLI::App* AddTrainCommand(CLI::App& app, int* exit_code);

}  // namespace tml::cli
