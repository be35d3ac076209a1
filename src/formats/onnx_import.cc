#include "formats/import.h"

namespace tml {

Result<Graph> ImportOnnxBuffer(const uint8_t*, size_t, const std::string& name) {
  return Status::Errorf("{}: ONNX import is not built yet", name);
}

}  // namespace tml
