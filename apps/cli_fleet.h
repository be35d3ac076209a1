// `tinymlaas devices list|show|sync|group` and `tinymlaas deploy`: the device registry
// and model deployment through the gateway agents (src/app/deploy.h).
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

namespace tml::cli {

void AddFleetCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added);

}  // namespace tml::cli
