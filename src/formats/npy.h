// NumPy .npy files (format versions 1-3, little-endian, C order), so inputs and
// outputs can be compared with any other engine.
//
//   TML_ASSIGN_OR_RETURN(NpyArray a, ParseNpy(bytes, "x.npy"));
//   std::vector<uint8_t> file = WriteNpy(DType::kInt8, {1, 12}, data, 12);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml {

struct NpyArray {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::vector<uint8_t> data;
};

Result<NpyArray> ParseNpy(const std::vector<uint8_t>& bytes, const std::string& where);
std::vector<uint8_t> WriteNpy(DType dtype, const Shape& shape, const void* data, size_t bytes);

}  // namespace tml
