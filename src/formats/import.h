// Model import: TFLite flatbuffers and ONNX protobufs into the IR.
//
//   TML_ASSIGN_OR_RETURN(Graph g, LoadModel("model.tflite"));  // imported and prepared
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml {

// An operator of a file format an importer reads, and the registry ops it may become
// (the op registry's coverage test checks that every op can be imported).
struct FormatOp {
  std::string name;
  std::vector<OpType> produces;
};
std::vector<FormatOp> OnnxImportOps();
std::vector<FormatOp> TfliteImportOps();

Result<Graph> ImportTfliteBuffer(const uint8_t* data, size_t size, const std::string& name);
// The TFLite builtin operators the importer maps (schema names: "CONV_2D", ...).
std::vector<std::string> SupportedTfliteOperators();
Result<Graph> ImportOnnxBuffer(const uint8_t* data, size_t size, const std::string& name);

// Reads a file (format from its content), imports it and runs PrepareGraph.
Result<Graph> LoadModel(const std::string& path);

// Reads a whole file; an error names the path and the reason.
Result<std::vector<uint8_t>> ReadFile(const std::string& path);

}  // namespace tml
