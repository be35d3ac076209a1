// `tinymlaas frontend`: feature front ends (docs/frontends.md).
#pragma once

#include <CLI/CLI.hpp>

namespace tml::cli {

CLI::App* AddFrontEndCommands(CLI::App& app, int* exit_code);
// `tinymlaas stream`: keyword spotting on a long recording, on the host or a board.
CLI::App* AddStreamCommand(CLI::App& app, int* exit_code);

}  // namespace tml::cli
