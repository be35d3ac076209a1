#include <cerrno>
#include <cstring>
#include <fstream>

#include "formats/import.h"
#include "prepare/passes.h"

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
  auto ends_with = [&](const char* ext) {
    const size_t n = std::strlen(ext);
    return path.size() > n && path.compare(path.size() - n, n, ext) == 0;
  };
  const bool tflite =
      (bytes.size() >= 8 && std::memcmp(bytes.data() + 4, "TFL3", 4) == 0) || ends_with(".tflite");
  if (!tflite && !ends_with(".onnx"))
    return Status::Errorf(
        "{}: unknown model format (expected a .tflite flatbuffer or an .onnx file)", path);
  Result<Graph> g = tflite ? ImportTfliteBuffer(bytes.data(), bytes.size(), path)
                           : ImportOnnxBuffer(bytes.data(), bytes.size(), path);
  if (!g.ok()) return g.status();
  Status s = PrepareGraph(*g);
  if (!s.ok()) return s.Wrap(path);
  return g;
}

}  // namespace tml
