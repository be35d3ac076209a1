// Internal helpers shared by the ONNX importer, exporter and conformance tests:
// attribute access and TensorProto <-> Tensor conversion. Includes libonnx.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml {

// The domain of the project's own operators (the Mfcc front end).
inline constexpr const char* kTmlDomain = "ai.tinymlaas";

// Axis permutations between the IR's NHWC and ONNX's NCHW.
inline const std::vector<int64_t> kToNchw = {0, 3, 1, 2};
inline const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};

int64_t OnnxAttrInt(const onnx::NodeProto& n, const std::string& name, int64_t def);
float OnnxAttrFloat(const onnx::NodeProto& n, const std::string& name, float def);
std::string OnnxAttrStr(const onnx::NodeProto& n, const std::string& name, const std::string& def);
std::vector<int64_t> OnnxAttrInts(const onnx::NodeProto& n, const std::string& name);

Result<DType> DTypeFromOnnx(int32_t elem_type, const std::string& what);
int32_t DTypeToOnnx(DType t);
Result<Tensor> TensorFromProto(const onnx::TensorProto& p, const std::string& name);
void TensorToProto(const Tensor& t, onnx::TensorProto* p);
Result<Tensor> TensorFromValueInfo(const onnx::ValueInfoProto& v);

// frozen: graph inputs to treat as constants (e.g. shapes given as inputs).
Result<Graph> ImportOnnxModel(const onnx::ModelProto& m, const std::string& name,
                              const std::map<std::string, Tensor>* frozen);

}  // namespace tml
