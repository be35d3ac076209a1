// `tinymlaas serve`, `tinymlaas worker`, `tinymlaas token create`: the control plane.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

namespace tml::cli {

void AddServeCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* subs);

}  // namespace tml::cli
