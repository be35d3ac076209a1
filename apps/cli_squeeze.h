// `tinymlaas quantize` and `tinymlaas evaluate`: squeezing a trained model and
// measuring it on a dataset split with the reference interpreter.
#pragma once

#include <CLI/CLI.hpp>

namespace tml::cli {

void AddSqueezeCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added);

}  // namespace tml::cli
