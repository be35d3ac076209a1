// `tinymlaas keys create`, `package` and `agent`: signing keys, model packages and the
// gateway agent that bridges devices to MQTT.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

namespace tml::cli {

void AddDeviceCommands(CLI::App& app, int* exit_code, std::vector<CLI::App*>* added);

}  // namespace tml::cli
