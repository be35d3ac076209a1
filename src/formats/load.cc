#include <cerrno>
#include <cstring>
#include <fstream>

#include "formats/import.h"
#include "graph/passes.h"

namespace tml {

Result<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Errorf("{}: cannot open ({})", path, std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status::Errorf("{}: read error", path);
  return bytes;
}

Result<Graph> LoadModel(const std::string& path) {
  TML_ASSIGN_OR_RETURN(auto bytes, ReadFile(path));
  const bool tflite = bytes.size() >= 8 && std::memcmp(bytes.data() + 4, "TFL3", 4) == 0;
  const bool onnx_ext = path.size() > 5 && path.substr(path.size() - 5) == ".onnx";
  Result<Graph> g = tflite || !onnx_ext ? ImportTfliteBuffer(bytes.data(), bytes.size(), path)
                                        : ImportOnnxBuffer(bytes.data(), bytes.size(), path);
  if (!g.ok()) return g.status();
  Status s = PrepareGraph(*g);
  if (!s.ok()) return s.Wrap(path);
  return g;
}

}  // namespace tml
