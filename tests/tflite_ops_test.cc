// One TFLite model per supported builtin operator, each written as JSON with its
// real options table and built by flatc against src/formats/tflite.fbs: the
// importer must read every option into the IR (checked per case), and the model
// must prepare and run. A test fails when an operator the importer supports has
// no case here.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "fixtures.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "prepare/passes.h"
#include "tflite_json.h"

namespace tml {
namespace {

using testing::Bytes;
using testing::JsonModel;

struct OpCase {
  std::string code;
  std::function<JsonModel()> model;
  std::function<void(const Graph&)> check;  // on the imported graph, before PrepareGraph
};

// x [shape] -> CODE(x, consts...) -> y [out]: the common single-operator model.
JsonModel Single(const std::string& code, const std::string& options_type,
                 const std::string& options, std::vector<int> in_shape, std::vector<int> out_shape,
                 std::vector<testing::JsonTensor> consts = {}, std::string type = "FLOAT32",
                 std::string out_type = "") {
  JsonModel m;
  testing::JsonTensor xt{"x", type, in_shape};
  testing::JsonTensor yt{"y", out_type.empty() ? type : out_type, out_shape};
  if (type == "INT8") xt.scale = {0.05f}, xt.zero_point = {2};
  if (yt.type == "INT8") yt.scale = {0.05f}, yt.zero_point = {2};
  const int x = m.Tensor(xt);
  std::vector<int> inputs = {x};
  for (auto& c : consts) inputs.push_back(m.Tensor(c));
  const int y = m.Tensor(yt);
  m.Op({code, options_type, options, inputs, {y}});
  m.inputs = {x};
  m.outputs = {y};
  return m;
}

testing::JsonTensor Floats(const std::string& name, std::vector<int> shape, float v = 0.1f) {
  int64_t n = 1;
  for (int d : shape) n *= d;
  std::vector<float> data(static_cast<size_t>(n));
  for (size_t i = 0; i < data.size(); ++i) data[i] = v * static_cast<float>(i % 7) - 0.2f;
  return {name, "FLOAT32", shape, Bytes(data)};
}
testing::JsonTensor Ints(const std::string& name, std::vector<int32_t> v) {
  return {name, "INT32", {static_cast<int>(v.size())}, Bytes(v)};
}
JsonModel Binary(const std::string& code, const std::string& options_type, const std::string& act) {
  return Single(code, options_type, "fused_activation_function: \"" + act + "\"", {1, 3, 4},
                {1, 3, 4}, {Floats("b", {1, 3, 4})});
}

const Node& First(const Graph& g) {
  return g.nodes.at(0);
}

std::vector<OpCase> Cases() {
  std::vector<OpCase> c;
  auto act = [](float lo, float hi) {
    return [lo, hi](const Graph& g) {
      EXPECT_EQ(First(g).attrs.Float("act_min", kNoMin), lo);
      EXPECT_EQ(First(g).attrs.Float("act_max", kNoMax), hi);
    };
  };
  c.push_back({"ADD", [] { return Binary("ADD", "AddOptions", "RELU6"); }, act(0.0f, 6.0f)});
  c.push_back({"SUB", [] { return Binary("SUB", "SubOptions", "RELU"); }, act(0.0f, kNoMax)});
  c.push_back(
      {"MUL", [] { return Binary("MUL", "MulOptions", "RELU_N1_TO_1"); }, act(-1.0f, 1.0f)});
  c.push_back({"DIV", [] { return Binary("DIV", "DivOptions", "NONE"); },
               [](const Graph& g) {
                 EXPECT_EQ(First(g).op, OpType::kDiv);
                 EXPECT_FALSE(First(g).attrs.Has("act_min"));
               }});
  c.push_back({"CONV_2D",
               [] {
                 return Single("CONV_2D", "Conv2DOptions",
                               "padding: \"SAME\", stride_w: 2, stride_h: 1, "
                               "dilation_w_factor: 1, dilation_h_factor: 2, "
                               "fused_activation_function: \"RELU\"",
                               {1, 7, 8, 2}, {1, 7, 4, 3},
                               {Floats("w", {3, 3, 3, 2}), Floats("b", {3})});
               },
               [](const Graph& g) {
                 const Node& n = First(g);
                 EXPECT_EQ(n.op, OpType::kConv2D);
                 EXPECT_EQ(n.attrs.Int("stride_w"), 2);
                 EXPECT_EQ(n.attrs.Int("stride_h"), 1);
                 EXPECT_EQ(n.attrs.Int("dilation_h"), 2);
                 EXPECT_EQ(n.attrs.Int("pad_top"), 2);  // SAME with an effective 5-tap window
                 EXPECT_EQ(n.attrs.Int("pad_bottom"), 2);
                 EXPECT_EQ(n.attrs.Float("act_min", kNoMin), 0.0f);
               }});
  c.push_back({"DEPTHWISE_CONV_2D",
               [] {
                 return Single("DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions",
                               "padding: \"VALID\", stride_w: 1, stride_h: 2, depth_multiplier: 2, "
                               "dilation_w_factor: 2, fused_activation_function: \"RELU6\"",
                               {1, 9, 9, 2}, {1, 4, 5, 4},
                               {Floats("w", {1, 3, 3, 4}), Floats("b", {4})});
               },
               [](const Graph& g) {
                 const Node& n = First(g);
                 EXPECT_EQ(n.op, OpType::kDepthwiseConv2D);
                 EXPECT_EQ(n.attrs.Int("stride_h"), 2);
                 EXPECT_EQ(n.attrs.Int("dilation_w"), 2);
                 EXPECT_EQ(n.attrs.Int("pad_left"), 0);
                 EXPECT_EQ(n.attrs.Float("act_max", kNoMax), 6.0f);
               }});
  for (const char* code : {"AVERAGE_POOL_2D", "MAX_POOL_2D"})
    c.push_back({code,
                 [code] {
                   return Single(code, "Pool2DOptions",
                                 "padding: \"SAME\", stride_w: 2, stride_h: 2, filter_width: 3, "
                                 "filter_height: 2, fused_activation_function: \"RELU\"",
                                 {1, 6, 6, 3}, {1, 3, 3, 3});
                 },
                 [](const Graph& g) {
                   const Node& n = First(g);
                   EXPECT_EQ(n.attrs.Int("kernel_w"), 3);
                   EXPECT_EQ(n.attrs.Int("kernel_h"), 2);
                   EXPECT_EQ(n.attrs.Int("stride_w"), 2);
                   EXPECT_EQ(n.attrs.Int("pad_right"), 1);
                   EXPECT_EQ(n.attrs.Float("act_min", kNoMin), 0.0f);
                 }});
  c.push_back({"FULLY_CONNECTED",
               [] {
                 return Single("FULLY_CONNECTED", "FullyConnectedOptions",
                               "fused_activation_function: \"RELU\", keep_num_dims: true",
                               {2, 3, 8}, {2, 3, 5}, {Floats("w", {5, 8}), Floats("b", {5})});
               },
               [](const Graph& g) {
                 ASSERT_EQ(g.nodes.size(), 2u);  // keep_num_dims: the FC, then a reshape back
                 EXPECT_EQ(g.nodes[0].op, OpType::kFullyConnected);
                 EXPECT_EQ(g.nodes[0].attrs.Float("act_min", kNoMin), 0.0f);
                 EXPECT_EQ(g.nodes[1].op, OpType::kReshape);
                 EXPECT_EQ(g.nodes[1].attrs.Ints("shape"), (std::vector<int64_t>{2, 3, 5}));
               }});
  c.push_back({"SVDF",
               [] {
                 JsonModel m;
                 const int x = m.Tensor({"x", "FLOAT32", {1, 4}});
                 const int wf = m.Tensor(Floats("weights_feature", {6, 4}));
                 const int wt = m.Tensor(Floats("weights_time", {6, 5}));
                 const int b = m.Tensor(Floats("bias", {3}));
                 testing::JsonTensor st{"state", "FLOAT32", {1, 30}};
                 st.is_variable = true;
                 const int s = m.Tensor(st);
                 const int y = m.Tensor({"y", "FLOAT32", {1, 3}});
                 m.Op({"SVDF",
                       "SVDFOptions",
                       "rank: 2, fused_activation_function: \"RELU\"",
                       {x, wf, wt, b, s},
                       {y}});
                 m.inputs = {x};
                 m.outputs = {y};
                 return m;
               },
               [](const Graph& g) {
                 EXPECT_EQ(First(g).op, OpType::kSvdf);
                 EXPECT_EQ(First(g).attrs.Int("rank"), 2);
                 EXPECT_EQ(First(g).attrs.Float("act_min", kNoMin), 0.0f);
                 EXPECT_TRUE(g.tensor(First(g).inputs[4]).is_state);
               }});
  c.push_back({"UNIDIRECTIONAL_SEQUENCE_LSTM",
               [] {
                 JsonModel m;
                 std::vector<int> in(24, -1);
                 in[0] = m.Tensor({"x", "FLOAT32", {3, 1, 4}});  // time-major
                 for (int k = 0; k < 4; ++k) {
                   in[1 + k] = m.Tensor(Floats("wi" + std::to_string(k), {2, 4}));
                   in[5 + k] = m.Tensor(Floats("wr" + std::to_string(k), {2, 2}));
                   in[12 + k] = m.Tensor(Floats("b" + std::to_string(k), {2}));
                 }
                 for (int k : {18, 19}) {
                   testing::JsonTensor st{k == 18 ? "h" : "c", "FLOAT32", {1, 2}};
                   st.is_variable = true;
                   in[k] = m.Tensor(st);
                 }
                 const int y = m.Tensor({"y", "FLOAT32", {3, 1, 2}});
                 m.Op({"UNIDIRECTIONAL_SEQUENCE_LSTM",
                       "UnidirectionalSequenceLSTMOptions",
                       "fused_activation_function: \"TANH\", cell_clip: 0.5, time_major: true",
                       in,
                       {y}});
                 m.inputs = {in[0]};
                 m.outputs = {y};
                 return m;
               },
               [](const Graph& g) {
                 EXPECT_EQ(First(g).op, OpType::kLstm);
                 EXPECT_EQ(First(g).attrs.Int("time_major"), 1);
                 EXPECT_EQ(First(g).attrs.Float("cell_clip"), 0.5f);
                 EXPECT_EQ(g.tensor(First(g).inputs[1]).shape, (Shape{8, 4}));
                 EXPECT_TRUE(g.tensor(First(g).inputs[4]).is_state);
                 EXPECT_TRUE(g.tensor(First(g).inputs[5]).is_state);
               }});
  c.push_back({"CONCATENATION",
               [] {
                 return Single("CONCATENATION", "ConcatenationOptions", "axis: -1", {2, 3}, {2, 7},
                               {Floats("c", {2, 4})});
               },
               [](const Graph& g) { EXPECT_EQ(First(g).attrs.Int("axis"), -1); }});
  for (auto [code, lo, hi] : {std::tuple{"RELU", 0.0f, kNoMax}, std::tuple{"RELU6", 0.0f, 6.0f},
                              std::tuple{"RELU_N1_TO_1", -1.0f, 1.0f}})
    c.push_back({code,
                 [code = code] {
                   return Single(code, "", "", {2, 5}, {2, 5});
                 },
                 [lo = lo, hi = hi](const Graph& g) {
                   EXPECT_EQ(First(g).op, OpType::kClip);
                   EXPECT_EQ(First(g).attrs.Float("min", kNoMin), lo);
                   EXPECT_EQ(First(g).attrs.Float("max", kNoMax), hi);
                 }});
  c.push_back({"LOGISTIC",
               [] {
                 return Single("LOGISTIC", "", "", {2, 5}, {2, 5});
               },
               [](const Graph& g) { EXPECT_EQ(First(g).op, OpType::kLogistic); }});
  c.push_back({"TANH",
               [] {
                 return Single("TANH", "", "", {2, 5}, {2, 5});
               },
               [](const Graph& g) { EXPECT_EQ(First(g).op, OpType::kTanh); }});
  c.push_back(
      {"QUANTIZE",
       [] {
         return Single("QUANTIZE", "QuantizeOptions", "", {2, 5}, {2, 5}, {}, "FLOAT32", "INT8");
       },
       [](const Graph& g) { EXPECT_EQ(First(g).op, OpType::kQuantize); }});
  c.push_back({"DEQUANTIZE",
               [] {
                 return Single("DEQUANTIZE", "DequantizeOptions", "", {2, 5}, {2, 5}, {}, "INT8",
                               "FLOAT32");
               },
               [](const Graph& g) { EXPECT_EQ(First(g).op, OpType::kDequantize); }});
  c.push_back({"LEAKY_RELU",
               [] { return Single("LEAKY_RELU", "LeakyReluOptions", "alpha: 0.25", {4}, {4}); },
               [](const Graph& g) { EXPECT_EQ(First(g).attrs.Float("alpha"), 0.25f); }});
  c.push_back({"SOFTMAX",
               [] {
                 return Single("SOFTMAX", "SoftmaxOptions", "beta: 0.5", {2, 6}, {2, 6});
               },
               [](const Graph& g) { EXPECT_EQ(First(g).attrs.Float("beta"), 0.5f); }});
  c.push_back({"LOG_SOFTMAX",
               [] {
                 return Single("LOG_SOFTMAX", "LogSoftmaxOptions", "", {2, 6}, {2, 6});
               },
               [](const Graph& g) { EXPECT_EQ(First(g).op, OpType::kLogSoftmax); }});
  c.push_back({"RESHAPE",
               [] {
                 return Single("RESHAPE", "ReshapeOptions", "new_shape: [3, 4]", {2, 6}, {3, 4});
               },
               [](const Graph& g) {
                 EXPECT_EQ(First(g).attrs.Ints("shape"), (std::vector<int64_t>{3, 4}));
               }});
  c.push_back(
      {"SQUEEZE",
       [] {
         return Single("SQUEEZE", "SqueezeOptions", "squeeze_dims: [0, 2]", {1, 6, 1}, {6});
       },
       [](const Graph& g) { EXPECT_EQ(First(g).attrs.Ints("shape"), (std::vector<int64_t>{6})); }});
  c.push_back(
      {"EXPAND_DIMS",
       [] {
         return Single("EXPAND_DIMS", "ExpandDimsOptions", "", {6}, {6, 1}, {Ints("axis", {1})});
       },
       [](const Graph& g) {
         EXPECT_EQ(First(g).attrs.Ints("shape"), (std::vector<int64_t>{6, 1}));
       }});
  c.push_back({"PAD",
               [] {
                 return Single(
                     "PAD", "PadOptions", "", {2, 3}, {3, 6},
                     {{"paddings", "INT32", {2, 2}, Bytes(std::vector<int32_t>{1, 0, 2, 1})}});
               },
               [](const Graph& g) {
                 EXPECT_EQ(First(g).attrs.Ints("pads"), (std::vector<int64_t>{1, 2, 0, 1}));
               }});
  c.push_back({"PADV2",
               [] {
                 return Single(
                     "PADV2", "PadV2Options", "", {2, 3}, {2, 5},
                     {{"paddings", "INT32", {2, 2}, Bytes(std::vector<int32_t>{0, 0, 1, 1})},
                      {"value", "FLOAT32", {}, Bytes(std::vector<float>{-1.5f})}});
               },
               [](const Graph& g) { EXPECT_EQ(First(g).attrs.Float("value"), -1.5f); }});
  c.push_back({"TRANSPOSE",
               [] {
                 return Single("TRANSPOSE", "TransposeOptions", "", {2, 3, 4}, {4, 2, 3},
                               {Ints("perm", {2, 0, 1})});
               },
               [](const Graph& g) {
                 EXPECT_EQ(First(g).attrs.Ints("perm"), (std::vector<int64_t>{2, 0, 1}));
               }});
  c.push_back({"MEAN",
               [] {
                 return Single("MEAN", "ReducerOptions", "keep_dims: true", {1, 4, 4, 3},
                               {1, 1, 1, 3}, {Ints("axes", {1, 2})});
               },
               [](const Graph& g) {
                 EXPECT_EQ(First(g).attrs.Int("keep_dims"), 1);
                 EXPECT_EQ(First(g).attrs.Ints("axes"), (std::vector<int64_t>{1, 2}));
               }});
  // A slice of a computed tensor runs on the device: begin_mask on axis 0, a negative
  // stride on axis 1, shrink on axis 2.
  c.push_back({"STRIDED_SLICE",
               [] {
                 return Single("STRIDED_SLICE", "StridedSliceOptions",
                               "begin_mask: 1, shrink_axis_mask: 4", {3, 5, 2}, {2, 2},
                               {Ints("begin", {2, 4, -1}), Ints("end", {2, 0, 0}),
                                Ints("strides", {1, -2, 1})});
               },
               [](const Graph& g) {
                 ASSERT_EQ(g.nodes.size(), 2u);
                 EXPECT_EQ(g.nodes[0].op, OpType::kSlice);
                 EXPECT_EQ(g.nodes[0].attrs.Ints("starts"), (std::vector<int64_t>{0, 4, 1}));
                 EXPECT_EQ(g.nodes[0].attrs.Ints("steps"), (std::vector<int64_t>{1, -2, 1}));
                 EXPECT_EQ(g.nodes[0].attrs.Ints("sizes"), (std::vector<int64_t>{2, 2, 1}));
                 EXPECT_EQ(g.nodes[1].op, OpType::kReshape);
               }});
  // SHAPE folds; PACK of computed tensors stacks them on a new axis at run time.
  c.push_back({"SHAPE",
               [] {
                 JsonModel m;
                 const int x = m.Tensor({"x", "FLOAT32", {2, 3}});
                 const int s = m.Tensor({"s", "INT32", {2}});
                 const int y = m.Tensor({"y", "FLOAT32", {3, 2}});
                 m.Op({"SHAPE", "ShapeOptions", "out_type: \"INT32\"", {x}, {s}});
                 m.Op({"RESHAPE", "", "", {x, s}, {y}});
                 m.inputs = {x};
                 m.outputs = {y};
                 return m;
               },
               [](const Graph& g) {
                 ASSERT_EQ(g.nodes.size(), 1u);
                 EXPECT_EQ(g.nodes[0].attrs.Ints("shape"), (std::vector<int64_t>{2, 3}));
               }});
  c.push_back({"PACK",
               [] {
                 JsonModel m;
                 const int a = m.Tensor({"a", "FLOAT32", {2, 3}});
                 const int b = m.Tensor({"b", "FLOAT32", {2, 3}});
                 const int y = m.Tensor({"y", "FLOAT32", {2, 2, 3}});
                 m.Op({"PACK", "PackOptions", "values_count: 2, axis: 1", {a, b}, {y}});
                 m.inputs = {a, b};
                 m.outputs = {y};
                 return m;
               },
               [](const Graph& g) {
                 ASSERT_EQ(g.nodes.size(), 3u);
                 EXPECT_EQ(g.nodes[0].attrs.Ints("shape"), (std::vector<int64_t>{2, 1, 3}));
                 EXPECT_EQ(g.nodes[2].op, OpType::kConcat);
                 EXPECT_EQ(g.nodes[2].attrs.Int("axis"), 1);
               }});
  return c;
}

Result<Graph> Import(const JsonModel& m, const std::string& name) {
  TML_ASSIGN_OR_RETURN(auto bytes, testing::BuildWithFlatc(m, name));
  return ImportTfliteBuffer(bytes.data(), bytes.size(), name + ".tflite");
}

TEST(TfliteOps, EveryOperatorReadsItsOptionsAndRuns) {
  std::set<std::string> covered;
  std::map<std::string, std::vector<OpType>> produces;
  for (const FormatOp& f : TfliteImportOps()) produces[f.name] = f.produces;
  for (const OpCase& c : Cases()) {
    SCOPED_TRACE(c.code);
    covered.insert(c.code);
    const JsonModel model = c.model();
    auto g = Import(model, c.code);
    ASSERT_TRUE(g.ok()) << g.status().message();
    c.check(*g);
    // The importer's table says which registry ops each builtin becomes: it must be true
    // (checked on the single-operator models; SHAPE's case feeds a RESHAPE).
    if (model.ops.size() == 1)
      for (const Node& n : g->nodes)
        EXPECT_NE(std::find(produces[c.code].begin(), produces[c.code].end(), n.op),
                  produces[c.code].end())
            << c.code << " produced " << OpName(n.op) << ", which its kOps entry does not list";
    ASSERT_TRUE(PrepareGraph(*g).ok()) << PrepareGraph(*g).message();
    auto interp = Interpreter::Create(*g);
    ASSERT_TRUE(interp.ok()) << interp.status().message();
    (*interp)->Invoke();
  }
  for (const std::string& op : SupportedTfliteOperators())
    EXPECT_TRUE(covered.count(op)) << op << " is supported but has no case here";
}

TEST(TfliteOps, StridedSliceAndPackComputeTheRightElements) {
  JsonModel m;
  const int x = m.Tensor({"x", "FLOAT32", {2, 5}});
  const int y = m.Tensor({"y", "FLOAT32", {2, 2}});
  const int z = m.Tensor({"z", "FLOAT32", {2, 2, 2}});
  m.Op({"STRIDED_SLICE",
        "StridedSliceOptions",
        "",
        {x, m.Tensor(Ints("b", {0, 4})), m.Tensor(Ints("e", {2, 0})), m.Tensor(Ints("s", {1, -2}))},
        {y}});
  m.Op({"PACK", "PackOptions", "values_count: 2, axis: 2", {y, y}, {z}});
  m.inputs = {x};
  m.outputs = {z};
  auto sliced = Import(m, "slice_pack");
  ASSERT_TRUE(sliced.ok()) << sliced.status().message();
  ASSERT_TRUE(PrepareGraph(*sliced).ok());
  auto interp = Interpreter::Create(*sliced);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  float in[10];
  for (int i = 0; i < 10; ++i) in[i] = static_cast<float>(i);
  std::memcpy((*interp)->input(0), in, sizeof(in));
  (*interp)->Invoke();
  const float* out = static_cast<const float*>((*interp)->output(0));
  const std::vector<float> want = {4, 4, 2, 2, 9, 9, 7, 7};
  EXPECT_EQ(std::vector<float>(out, out + 8), want);
}

TEST(TfliteOps, OptionsOfTheWrongTypeAreRefusedByName) {
  JsonModel m = Single("CONV_2D", "Pool2DOptions", "stride_w: 1, stride_h: 1", {1, 4, 4, 1},
                       {1, 4, 4, 1}, {Floats("w", {1, 1, 1, 1})});
  auto g = Import(m, "wrong_options");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("carries Pool2DOptions (5) where Conv2DOptions (1) was "
                                      "expected"),
            std::string::npos)
      << g.status().message();
}

TEST(TfliteOps, KerasFlattenAndBiasQuirkImport) {
  auto g = Import(testing::KerasStyleCnn(), "keras_cnn");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->tensor(g->nodes[0].inputs[2]).quant.axis, 0);  // bias quirk: read along its axis
  ASSERT_TRUE(PrepareGraph(*g).ok());
  std::vector<OpType> ops;
  for (const Node& n : g->nodes) ops.push_back(n.op);
  EXPECT_EQ(ops, (std::vector<OpType>{OpType::kDepthwiseConv2D, OpType::kConv2D, OpType::kReshape,
                                      OpType::kFullyConnected, OpType::kSoftmax}));
}

// TFLite Micro's own integration tests: one-operator models cut from a real model
// (16x8 quantization), each with its converter-written options tables.
TEST(TfliteOps, TflmSeanetModelsImport) {
  const std::string root = std::string(TML_SHARED_DIR) + "/conformance/tflm-seanet";
  if (!std::filesystem::is_directory(root)) GTEST_SKIP() << root << " is absent";
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.path().extension() != ".tflite") continue;
    ++files;
    auto bytes = ReadFile(e.path().string());
    ASSERT_TRUE(bytes.ok());
    auto g = ImportTfliteBuffer(bytes->data(), bytes->size(), e.path().filename().string());
    EXPECT_TRUE(g.ok()) << g.status().message();
  }
  EXPECT_EQ(files, 80);  // add 17, conv 22, quantize 2, strided_slice 34, sub 5
}

std::vector<int16_t> ReadCsv(const std::string& path) {
  std::vector<int16_t> v;
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return v;
  std::string text(bytes->begin(), bytes->end());
  for (char& ch : text)
    if (ch == ',' || ch == '\n') ch = ' ';
  std::istringstream in(text);
  long x = 0;
  while (in >> x) v.push_back(static_cast<int16_t>(x));
  return v;
}

// The data-movement cases need no 16x8 arithmetic: they must reproduce TFLite's outputs.
TEST(TfliteOps, TflmSeanetStridedSlicesMatchTheirGoldenOutputs) {
  const std::string dir = std::string(TML_SHARED_DIR) + "/conformance/tflm-seanet/strided_slice";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is absent";
  int checked = 0;
  for (int i = 0; std::filesystem::exists(fmt::format("{}/strided_slice{}.tflite", dir, i)); ++i) {
    const std::string base = fmt::format("{}/strided_slice{}", dir, i);
    SCOPED_TRACE(base);
    auto g = LoadModel(base + ".tflite");
    ASSERT_TRUE(g.ok()) << g.status().message();
    const auto in = ReadCsv(base + "_input0_int16.csv");
    const auto want = ReadCsv(base + "_golden_int16.csv");
    auto interp = Interpreter::Create(*g);
    ASSERT_TRUE(interp.ok()) << interp.status().message();
    ASSERT_EQ(in.size() * 2, (*interp)->input_bytes(0));
    ASSERT_EQ(want.size() * 2, (*interp)->output_bytes(0));
    std::memcpy((*interp)->input(0), in.data(), in.size() * 2);
    (*interp)->Invoke();
    const auto* got = static_cast<const int16_t*>((*interp)->output(0));
    EXPECT_EQ(std::vector<int16_t>(got, got + want.size()), want);
    ++checked;
  }
  EXPECT_EQ(checked, 34);
}

}  // namespace
}  // namespace tml
