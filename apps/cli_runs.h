// `tinymlaas runs list|show`: the run records of the workspace.
#pragma once

#include <CLI/CLI.hpp>

namespace tml::cli {

CLI::App* AddRunsCommands(CLI::App& app, int* exit_code);

}  // namespace tml::cli
