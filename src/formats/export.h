// Model export: the IR to ONNX (opset 13). Float graphs as plain ONNX, int8
// graphs in QDQ form, so models open in standard tools and re-import exactly.
//
//   TML_RETURN_IF_ERROR(SaveOnnx(graph, "model.onnx"));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml {

Result<std::vector<uint8_t>> ExportOnnx(const Graph& g);
// Whether the exporter has a rule for the op (every registered op should).
bool OnnxExports(OpType op);
Status SaveOnnx(const Graph& g, const std::string& path);
// Writes the ONNX form into dir as <first 32 hex of its SHA-256>.onnx (atomically: a
// temporary file renamed) unless that file exists, and returns its path.
Result<std::string> SaveOnnxByContent(const Graph& g, const std::string& dir);

}  // namespace tml
