#include "formats/onnx_util.h"

#include <fmt/format.h>

#include <cstring>

namespace tml {

namespace {
const onnx::AttributeProto* FindAttr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
}  // namespace

int64_t OnnxAttrInt(const onnx::NodeProto& n, const std::string& name, int64_t def) {
  const auto* a = FindAttr(n, name);
  return a && a->has_i() ? a->i() : def;
}

float OnnxAttrFloat(const onnx::NodeProto& n, const std::string& name, float def) {
  const auto* a = FindAttr(n, name);
  return a && a->has_f() ? a->f() : def;
}

std::string OnnxAttrStr(const onnx::NodeProto& n, const std::string& name, const std::string& def) {
  const auto* a = FindAttr(n, name);
  return a && a->has_s() ? a->s() : def;
}

std::vector<int64_t> OnnxAttrInts(const onnx::NodeProto& n, const std::string& name) {
  const auto* a = FindAttr(n, name);
  if (!a) return {};
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

Result<DType> DTypeFromOnnx(int32_t e, const std::string& what) {
  switch (e) {
    case onnx::TensorProto::FLOAT:
      return DType::kFloat32;
    case onnx::TensorProto::UINT8:
      return DType::kUInt8;
    case onnx::TensorProto::INT8:
      return DType::kInt8;
    case onnx::TensorProto::UINT16:
      return DType::kUInt16;
    case onnx::TensorProto::INT16:
      return DType::kInt16;
    case onnx::TensorProto::INT32:
      return DType::kInt32;
    case onnx::TensorProto::INT64:
      return DType::kInt64;
    case onnx::TensorProto::BOOL:
      return DType::kBool;
    case onnx::TensorProto::UINT32:
      return DType::kUInt32;
    case onnx::TensorProto::UINT64:
      return DType::kUInt64;
    default:
      return Status::Errorf("{}: unsupported ONNX element type {}", what, e);
  }
}

int32_t DTypeToOnnx(DType t) {
  switch (t) {
    case DType::kFloat32:
      return onnx::TensorProto::FLOAT;
    case DType::kUInt8:
      return onnx::TensorProto::UINT8;
    case DType::kInt8:
      return onnx::TensorProto::INT8;
    case DType::kUInt16:
      return onnx::TensorProto::UINT16;
    case DType::kInt16:
      return onnx::TensorProto::INT16;
    case DType::kInt32:
      return onnx::TensorProto::INT32;
    case DType::kInt64:
      return onnx::TensorProto::INT64;
    case DType::kBool:
      return onnx::TensorProto::BOOL;
    case DType::kUInt32:
      return onnx::TensorProto::UINT32;
    case DType::kUInt64:
      return onnx::TensorProto::UINT64;
  }
  return onnx::TensorProto::UNDEFINED;
}

Result<Tensor> TensorFromProto(const onnx::TensorProto& p, const std::string& name) {
  Tensor t;
  t.name = name.empty() ? p.name() : name;
  TML_ASSIGN_OR_RETURN(t.dtype, DTypeFromOnnx(p.data_type(), "tensor '" + t.name + "'"));
  if (p.data_location() == onnx::TensorProto::EXTERNAL)
    return Status::Errorf("tensor '{}': external data files are not supported", t.name);
  int64_t count = 1;
  for (int64_t d : p.dims()) {
    if (d < 0 || d > (int64_t{1} << 31))
      return Status::Errorf("tensor '{}': invalid dimension {}", t.name, d);
    count *= d;
    if (count > (int64_t{1} << 31)) return Status::Errorf("tensor '{}': too many elements", t.name);
    t.shape.push_back(d);
  }
  auto fill = [&](const auto& field, auto cast) -> Status {
    if (static_cast<int64_t>(field.size()) != count)
      return Status::Errorf("tensor '{}': {} values for shape {}", t.name, field.size(),
                            ShapeStr(t.shape));
    t.data.resize(t.nbytes());
    for (int64_t i = 0; i < count; ++i) cast(i, field.Get(static_cast<int>(i)));
    return Status::Ok();
  };
  if (p.has_raw_data()) {
    if (p.raw_data().size() != t.nbytes())
      return Status::Errorf("tensor '{}': raw data has {} bytes, shape {} of {} needs {}", t.name,
                            p.raw_data().size(), ShapeStr(t.shape), DTypeName(t.dtype), t.nbytes());
    t.data.resize(t.nbytes());
    std::memcpy(t.data.data(), p.raw_data().data(), t.data.size());
    return t;
  }
  if (count == 0) {
    t.data.clear();
    return t;
  }
  auto store = [&](int64_t i, auto v) {
    switch (t.dtype) {
      case DType::kFloat32:
        t.mutable_as<float>()[i] = static_cast<float>(v);
        break;
      case DType::kInt8:
        t.mutable_as<int8_t>()[i] = static_cast<int8_t>(v);
        break;
      case DType::kUInt8:
      case DType::kBool:
        t.mutable_as<uint8_t>()[i] = static_cast<uint8_t>(v);
        break;
      case DType::kInt16:
        t.mutable_as<int16_t>()[i] = static_cast<int16_t>(v);
        break;
      case DType::kUInt16:
        t.mutable_as<uint16_t>()[i] = static_cast<uint16_t>(v);
        break;
      case DType::kInt32:
        t.mutable_as<int32_t>()[i] = static_cast<int32_t>(v);
        break;
      case DType::kUInt32:
        t.mutable_as<uint32_t>()[i] = static_cast<uint32_t>(v);
        break;
      case DType::kInt64:
        t.mutable_as<int64_t>()[i] = static_cast<int64_t>(v);
        break;
      case DType::kUInt64:
        t.mutable_as<uint64_t>()[i] = static_cast<uint64_t>(v);
        break;
    }
  };
  Status s;
  switch (t.dtype) {
    case DType::kFloat32:
      s = fill(p.float_data(), store);
      break;
    case DType::kInt64:
      s = fill(p.int64_data(), store);
      break;
    case DType::kUInt32:
    case DType::kUInt64:
      s = fill(p.uint64_data(), store);
      break;
    default:
      s = fill(p.int32_data(), store);
      break;
  }
  if (!s.ok()) return s;
  return t;
}

void TensorToProto(const Tensor& t, onnx::TensorProto* p) {
  p->set_name(t.name);
  p->set_data_type(DTypeToOnnx(t.dtype));
  for (int64_t d : t.shape) p->add_dims(d);
  p->set_raw_data(t.data.data(), t.data.size());
}

Result<Tensor> TensorFromValueInfo(const onnx::ValueInfoProto& v) {
  if (!v.type().has_tensor_type())
    return Status::Errorf("input '{}': only tensor inputs are supported", v.name());
  const auto& tt = v.type().tensor_type();
  Tensor t;
  t.name = v.name();
  TML_ASSIGN_OR_RETURN(t.dtype, DTypeFromOnnx(tt.elem_type(), "input '" + v.name() + "'"));
  int i = 0;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() >= 0) {
      t.shape.push_back(d.dim_value());
    } else if (i == 0) {
      t.shape.push_back(1);  // symbolic batch dimension: one sample at a time on a device
    } else {
      return Status::Errorf("input '{}': dimension {} is dynamic ('{}'); shapes must be static",
                            v.name(), i, d.dim_param());
    }
    ++i;
  }
  return t;
}

}  // namespace tml
