// ONNX's own backend node tests (../shared/conformance/onnx-node): every case
// in our op set must import, run in the reference interpreter and match the
// expected outputs, and its generated C must match the interpreter bit for bit.
// Cases outside the op set are skipped with the reason listed in kSkips (and
// in docs/conformance.md). Without ../shared the suite reports skipped.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "fixtures.h"
#include "formats/import.h"
#include "formats/onnx_util.h"
#include "interp/interpreter.h"
#include "prepare/passes.h"
#include "targets/verify.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

const std::string kDir = std::string(TML_SHARED_DIR) + "/conformance/onnx-node/node";

// Cases outside the scope of the compiler, with the reason. Keep in sync with docs/conformance.md.
const std::map<std::string, std::string>& Skips() {
  static const std::map<std::string, std::string> s = {
      {"test_identity_opt", "optional / sequence types are not tensors"},
      {"test_identity_sequence", "optional / sequence types are not tensors"},
      {"test_convinteger_with_padding", "ConvInteger is not in the op set (QLinearConv is)"},
      {"test_convinteger_without_padding", "ConvInteger is not in the op set (QLinearConv is)"},
      {"test_maxpool_1d_default", "1-D pooling: only 2-D (NCHW) pooling is in scope"},
      {"test_averagepool_1d_default", "1-D pooling: only 2-D (NCHW) pooling is in scope"},
      {"test_maxpool_3d_default", "3-D pooling is not in scope"},
      {"test_maxpool_3d_dilations", "3-D pooling is not in scope"},
      {"test_maxpool_3d_dilations_use_ref_impl", "3-D pooling is not in scope"},
      {"test_maxpool_3d_dilations_use_ref_impl_large", "3-D pooling is not in scope"},
      {"test_averagepool_3d_default", "3-D pooling is not in scope"},
      {"test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
       "3-D pooling is not in scope"},
      {"test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True",
       "3-D pooling is not in scope"},
      {"test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False",
       "3-D pooling is not in scope"},
      {"test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
       "3-D pooling is not in scope"},
      {"test_averagepool_3d_dilations_small", "3-D pooling is not in scope"},
      {"test_maxpool_with_argmax_2d_precomputed_pads",
       "the Indices output of MaxPool is not supported"},
      {"test_maxpool_with_argmax_2d_precomputed_strides",
       "the Indices output of MaxPool is not supported"},
      {"test_maxpool_2d_uint8", "uint8 activations: kernels are int8 / float32"},
      {"test_dropout_default_mask", "Dropout's mask output (training) is not supported"},
      {"test_dropout_default_mask_ratio", "Dropout's mask output (training) is not supported"},
      {"test_quantizelinear_int16", "int16 quantization is not in scope (int8 / uint8)"},
      {"test_quantizelinear_uint16", "uint16 quantization is not in scope (int8 / uint8)"},
      {"test_dequantizelinear_int16", "int16 quantization is not in scope (int8 / uint8)"},
      {"test_dequantizelinear_uint16", "uint16 quantization is not in scope (int8 / uint8)"},
      {"test_quantizelinear_blocked_asymmetric", "blocked quantization is not in scope"},
      {"test_quantizelinear_blocked_symmetric", "blocked quantization is not in scope"},
      {"test_dequantizelinear_blocked", "blocked quantization is not in scope"},
      {"test_qlinearconv", "uint8 QLinearConv: kernels are int8"},
      {"test_qlinearmatmul_2D_uint8_float32", "uint8 QLinearMatMul: kernels are int8"},
      {"test_qlinearmatmul_3D_uint8_float32", "uint8 QLinearMatMul: kernels are int8"},
      {"test_add_int16", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_add_int8", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_add_uint16", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_add_uint32", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_add_uint64", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_add_uint8", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_sub_int16", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_sub_int8", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_sub_uint16", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_sub_uint32", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_sub_uint64", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_sub_uint8", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_mul_int16", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_mul_int8", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_mul_uint16", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_mul_uint32", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_mul_uint64", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_mul_uint8", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_clip_default_int8_inbounds",
       "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_clip_default_int8_max", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_clip_default_int8_min", "plain (non-quantized) integer arithmetic is not in scope"},
      {"test_matmul_3d",
       "MatMul with a batched (3-D / 4-D) B: only 2-D constant weights are in scope"},
      {"test_matmul_4d",
       "MatMul with a batched (3-D / 4-D) B: only 2-D constant weights are in scope"},
      {"test_matmul_1d_3d",
       "MatMul with a batched (3-D / 4-D) B: only 2-D constant weights are in scope"},
      {"test_matmul_bcast",
       "MatMul with a batched (3-D / 4-D) B: only 2-D constant weights are in scope"},
      {"test_qlinearmatmul_3D_int8_float32",
       "MatMul with a batched (3-D / 4-D) B: only 2-D constant weights are in scope"},
      {"test_matmul_1d_1d", "MatMul with a 1-D B (vector product) is not in scope"},
      {"test_matmul_4d_1d", "MatMul with a 1-D B (vector product) is not in scope"},
  };
  return s;
}

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  if (!fs::exists(kDir)) return {"shared_folder_absent"};
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

Result<onnx::TensorProto> LoadProto(const fs::path& p) {
  TML_ASSIGN_OR_RETURN(auto bytes, ReadFile(p.string()));
  onnx::TensorProto t;
  if (!t.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status::Errorf("{}: not a TensorProto", p.string());
  return t;
}

// Inputs that carry parameters (weights, shapes, axes, scales) become constants.
bool Frozen(const std::string& op, int k, DType t) {
  if (t == DType::kInt64) return true;
  static const std::set<std::string> data_ops = {"Add", "Sub", "Mul", "Div", "Concat"};
  return k > 0 && !data_ops.count(op);
}

class OnnxNodeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNodeTest, MatchesExpectedOutputs) {
  const std::string name = GetParam();
  if (name == "shared_folder_absent") GTEST_SKIP() << kDir << " is absent";
  if (auto it = Skips().find(name); it != Skips().end()) GTEST_SKIP() << it->second;
  const fs::path dir = fs::path(kDir) / name;
  auto bytes = ReadFile((dir / "model.onnx").string());
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
  const std::string op = m.graph().node(0).op_type();
  std::map<std::string, Tensor> frozen;
  std::vector<Tensor> runtime_inputs;
  for (int k = 0; k < m.graph().input_size(); ++k) {
    auto p = LoadProto(dir / "test_data_set_0" / ("input_" + std::to_string(k) + ".pb"));
    ASSERT_TRUE(p.ok()) << p.status().message();
    auto t = TensorFromProto(*p, m.graph().input(k).name());
    ASSERT_TRUE(t.ok()) << t.status().message();
    if (Frozen(op, k, t->dtype))
      frozen[m.graph().input(k).name()] = *t;
    else
      runtime_inputs.push_back(*t);
  }
  auto g = ImportOnnxModel(m, name, &frozen);
  ASSERT_TRUE(g.ok()) << g.status().message();
  Status s = PrepareGraph(*g);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(g->inputs.size(), runtime_inputs.size());
  auto it = Interpreter::Create(*g);
  ASSERT_TRUE(it.ok()) << it.status().message();
  for (size_t k = 0; k < runtime_inputs.size(); ++k) {
    ASSERT_EQ((*it)->input_bytes(k), runtime_inputs[k].data.size()) << "input " << k;
    std::memcpy((*it)->input(k), runtime_inputs[k].data.data(), runtime_inputs[k].data.size());
  }
  (*it)->Invoke();
  ASSERT_EQ(g->outputs.size(), static_cast<size_t>(m.graph().output_size()));
  for (size_t k = 0; k < g->outputs.size(); ++k) {
    auto p = LoadProto(dir / "test_data_set_0" / ("output_" + std::to_string(k) + ".pb"));
    ASSERT_TRUE(p.ok());
    auto want = TensorFromProto(*p, "expected");
    ASSERT_TRUE(want.ok()) << want.status().message();
    const Tensor& y = g->tensor(g->outputs[k]);
    ASSERT_EQ(y.dtype, want->dtype) << "output " << k;
    ASSERT_EQ(y.numel(), want->numel())
        << "output " << k << " shape " << ShapeStr(y.shape) << " vs " << ShapeStr(want->shape);
    const auto* got = static_cast<const uint8_t*>((*it)->output(k));
    if (y.dtype == DType::kFloat32) {
      const float* a = reinterpret_cast<const float*>(got);
      int bad = 0;
      for (int64_t i = 0; i < y.numel() && bad < 5; ++i) {
        const float e = want->as<float>()[i];
        // ONNX's backend-test tolerance (rtol 1e-3, atol 1e-7): some expected values are rounded.
        if (!(std::fabs(a[i] - e) <= 1e-7f + 1e-3f * std::fabs(e))) {
          ++bad;
          ADD_FAILURE() << "output " << k << "[" << i << "] = " << a[i] << ", expected " << e;
        }
      }
    } else {
      EXPECT_EQ(std::memcmp(got, want->data.data(), want->data.size()), 0)
          << "output " << k << " differs";
    }
  }
  // The generated C must agree with the interpreter bit for bit.
  if (!g->inputs.empty()) {
    VerifyOptions o;
    o.inputs = 2;
    o.work_dir = testing::WorkDir("onnx_" + name);
    auto r = Verify(*g, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->bit_exact) << r->ToText();
  }
}

INSTANTIATE_TEST_SUITE_P(OnnxNode, OnnxNodeTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tml
