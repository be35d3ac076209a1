// `tinymlaas keys create` and `tinymlaas package`: signing keys and model packages.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

namespace tml::cli {

void AddPackageCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added);

}  // namespace tml::cli
