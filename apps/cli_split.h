// `tinymlaas split`: a model cut across a node chain (docs/split.md).
#pragma once

#include <CLI/CLI.hpp>

namespace tml::cli {

CLI::App* AddSplitCommand(CLI::App& app, int* exit_code);

}  // namespace tml::cli
