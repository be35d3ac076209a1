// Exports for real boards: a compiled model as an Arduino library (a .zip with
// library.properties, src/ and an example sketch) or as a CMake project that builds a
// static library for any arm-none-eabi board; and flashing a firmware file with the
// board's usual tool.
//
//   TML_ASSIGN_OR_RETURN(BoardExport e, ExportForBoard(graph, {"arduino", "cortex-m4", "kws"},
//                                                      "kws.zip"));
//   TML_RETURN_IF_ERROR(FlashFirmware({"build/firmware.elf", "", "/dev/ttyACM0"}).status());
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml {

struct BoardExportOptions {
  std::string format = "cmake";      // arduino or cmake
  std::string target = "cortex-m4";  // target profile: its compiler flags go into the project
  std::string name = "model";        // C prefix of the API and the library's name
};

struct BoardExport {
  std::string path;                // the .zip or the project folder
  std::vector<std::string> files;  // relative paths inside it
  int64_t arena_bytes = 0, weight_bytes = 0;
};

Result<BoardExport> ExportForBoard(const Graph& g, const BoardExportOptions& o,
                                   const std::string& out);

struct FlashRequest {
  std::string firmware;        // .elf (converted for tools that take raw binaries)
  std::string tool;            // bossac, openocd or picotool; empty: the first one installed
  std::string port;            // serial port (bossac)
  std::string openocd_config;  // board configuration file for openocd (-f)
};

// Runs the flashing tool; a clear error naming the tools and their Debian packages when
// none is installed.
Result<std::string> FlashFirmware(const FlashRequest& r);
// The flashing tools found on PATH, of those FlashFirmware knows.
std::vector<std::string> InstalledFlashTools();

}  // namespace tml
