// `tinymlaas data ...`: the dataset store from the command line.
#pragma once

#include <CLI/CLI.hpp>

namespace tml::cli {

// Registers `data import|list|show|stats|split` under app; a subcommand that runs
// stores its exit code in *exit_code. Returns the `data` command.
CLI::App* AddDataCommands(CLI::App& app, int* exit_code);

}  // namespace tml::cli
