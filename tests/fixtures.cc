#include "fixtures.h"

#include <netinet/in.h>
#include <onnx/onnx_pb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "tflite_writer.h"

namespace tml::testing {

std::vector<uint8_t> UnsupportedOpsTflite() {
  TfliteWriter w;
  const int x = w.AddTensor({"x", 9, {1, 8}, {0.1f}, {0}, {}});
  const int a = w.AddTensor({"after_relu", 9, {1, 8}, {0.1f}, {0}, {}});
  const int b = w.AddTensor({"after_lstm", 9, {1, 8}, {0.1f}, {0}, {}});
  const int c = w.AddTensor({"after_custom", 9, {1, 8}, {0.1f}, {0}, {}});
  const int d = w.AddTensor({"after_hswish", 9, {1, 8}, {0.1f}, {0}, {}});
  const int e = w.AddTensor({"after_lstm_2", 9, {1, 8}, {0.1f}, {0}, {}});
  w.AddOp({19, "", {x}, {a}});            // RELU
  w.AddOp({16, "", {a}, {b}});            // LSTM
  w.AddOp({32, "MyCustomOp", {b}, {c}});  // CUSTOM
  w.AddOp({117, "", {c}, {d}});           // HARD_SWISH
  w.AddOp({16, "", {d}, {e}});            // LSTM again
  return w.Finish({x}, {e});
}

std::vector<uint8_t> SvdfTflite(bool int8, uint32_t seed, int input, int filters, int memory,
                                int rank) {
  const int units = filters / rank;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const auto bytes = [](const auto& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    return std::vector<uint8_t>(p, p + v.size() * sizeof(v[0]));
  };
  TfliteWriter w;
  int x, wf, wt, b, st, y;
  if (!int8) {
    std::vector<float> f(filters * input), t(filters * memory), bias(units);
    for (float& v : f) v = u(rng);
    for (float& v : t) v = 0.5f * u(rng);
    for (float& v : bias) v = 0.2f * u(rng);
    x = w.AddTensor({"x", 0, {1, input}, {}, {}, {}});
    wf = w.AddTensor({"weights_feature", 0, {filters, input}, {}, {}, bytes(f)});
    wt = w.AddTensor({"weights_time", 0, {filters, memory}, {}, {}, bytes(t)});
    b = w.AddTensor({"bias", 0, {units}, {}, {}, bytes(bias)});
    st = w.AddTensor({"state", 0, {1, filters * memory}, {}, {}, {}, true});
    y = w.AddTensor({"y", 0, {1, units}, {}, {}, {}});
    w.AddOp({27, "", {x, wf, wt, b, st}, {y}, 6, {{0, rank}, {1, 1}}});  // SVDF, RELU
    return w.Finish({x}, {y});
  }
  std::vector<int8_t> f(filters * input);
  std::vector<int16_t> t(filters * memory);
  std::vector<int32_t> bias(units);
  for (int8_t& v : f) v = static_cast<int8_t>(127 * u(rng));
  for (int16_t& v : t) v = static_cast<int16_t>(16000 * u(rng));
  for (int32_t& v : bias) v = static_cast<int32_t>(2000000 * u(rng));
  const float sx = 1.0f / 64, sf = 0.01f, ss = 1.0f / 1024, swt = 1.0f / 32768;
  x = w.AddTensor({"x", 9, {1, input}, {sx}, {3}, {}});
  wf = w.AddTensor({"weights_feature", 9, {filters, input}, {sf}, {0}, bytes(f)});
  wt = w.AddTensor({"weights_time", 7, {filters, memory}, {swt}, {0}, bytes(t)});
  b = w.AddTensor({"bias", 2, {units}, {ss * swt}, {0}, bytes(bias)});
  st = w.AddTensor({"state", 7, {1, filters * memory}, {ss}, {0}, {}, true});
  y = w.AddTensor({"y", 9, {1, units}, {0.1f}, {-3}, {}});
  w.AddOp({27, "", {x, wf, wt, b, st}, {y}, 6, {{0, rank}, {1, 1}}});
  return w.Finish({x}, {y});
}

std::vector<uint8_t> LstmTflite(int form, uint32_t seed, int time, int batch, int input, int units,
                                bool time_major, float cell_clip, const std::string& unsupported) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const auto bytes = [](const auto& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    return std::vector<uint8_t>(p, p + v.size() * sizeof(v[0]));
  };
  const std::vector<int32_t> xs = time_major ? std::vector<int32_t>{time, batch, input}
                                             : std::vector<int32_t>{batch, time, input};
  const std::vector<int32_t> ys = time_major ? std::vector<int32_t>{time, batch, units}
                                             : std::vector<int32_t>{batch, time, units};
  const auto gate_scale = [](int cols, int k) {  // int8 weights: one scale per gate
    return 1.0f / std::sqrt(static_cast<float>(cols)) / 127 * (0.7f + 0.1f * static_cast<float>(k));
  };
  TfliteWriter w;
  const int8_t act = form == 0 ? 0 : form == 1 ? 9 : 7;  // FLOAT32, INT8, INT16
  const float sx = form == 1 ? 1.0f / 64 : 1.0f / 4096, sh = form == 1 ? 1.0f / 128 : 1.0f / 32768;
  const int64_t zx = form == 1 ? 5 : 0, zh = form == 1 ? -2 : 0;
  std::vector<int32_t> in(24, -1);
  in[0] =
      form ? w.AddTensor({"x", act, xs, {sx}, {zx}, {}}) : w.AddTensor({"x", 0, xs, {}, {}, {}});
  const char* gates[4] = {"input", "forget", "cell", "output"};
  for (int kind = 0; kind < 2; ++kind)  // input-to-gate, recurrent-to-gate weights
    for (int k = 0; k < 4; ++k) {
      const int cols = kind == 0 ? input : units;
      const std::string name =
          std::string(kind == 0 ? "input_to_" : "recurrent_to_") + gates[k] + "_weights";
      const float range = 1.0f / std::sqrt(static_cast<float>(cols));
      if (form == 0) {
        std::vector<float> v(static_cast<size_t>(units * cols));
        for (float& e : v) e = range * u(rng);
        in[1 + 4 * kind + k] = w.AddTensor({name, 0, {units, cols}, {}, {}, bytes(v)});
      } else {
        std::vector<int8_t> v(static_cast<size_t>(units * cols));
        for (int8_t& e : v) e = static_cast<int8_t>(127 * u(rng));
        in[1 + 4 * kind + k] =
            w.AddTensor({name, 9, {units, cols}, {gate_scale(cols, k)}, {0}, bytes(v)});
      }
    }
  for (int k = 0; k < 4; ++k) {
    const std::string name = std::string(gates[k]) + "_gate_bias";
    const float b = k == 1 ? 1.0f : 0.0f;  // Keras' unit forget bias
    if (form == 0) {
      std::vector<float> v(static_cast<size_t>(units));
      for (float& e : v) e = b + 0.2f * u(rng);
      in[12 + k] = w.AddTensor({name, 0, {units}, {}, {}, bytes(v)});
      continue;
    }
    const float bs = sx * gate_scale(input, k);  // input x weight
    std::vector<double> real(static_cast<size_t>(units));
    for (double& e : real) e = (b + 0.2f * u(rng)) / bs;
    if (form == 1) {
      std::vector<int32_t> v(real.begin(), real.end());
      in[12 + k] = w.AddTensor({name, 2, {units}, {bs}, {0}, bytes(v)});
    } else {
      std::vector<int64_t> v(real.begin(), real.end());
      in[12 + k] = w.AddTensor({name, 4, {units}, {bs}, {0}, bytes(v)});
    }
  }
  if (form == 0) {
    in[18] = w.AddTensor({"hidden_state", 0, {batch, units}, {}, {}, {}, true});
    in[19] = w.AddTensor({"cell_state", 0, {batch, units}, {}, {}, {}, true});
  } else {
    in[18] = w.AddTensor({"hidden_state", act, {batch, units}, {sh}, {zh}, {}, true});
    in[19] = w.AddTensor({"cell_state", 7, {batch, units}, {1.0f / 2048}, {0}, {}, true});
  }
  const int y =
      form ? w.AddTensor({"y", act, ys, {sh}, {zh}, {}}) : w.AddTensor({"y", 0, ys, {}, {}, {}});
  const auto ones = [](int64_t n) { return std::vector<float>(static_cast<size_t>(n), 1.0f); };
  const auto extra = [&](const char* name, std::vector<int32_t> shape) {
    const int64_t n = shape.size() == 1 ? shape[0] : int64_t{shape[0]} * shape[1];
    return w.AddTensor({name, 0, std::move(shape), {}, {}, bytes(ones(n))});
  };
  if (unsupported == "peephole") in[9] = extra("cell_to_input", {units});
  if (unsupported == "projection") in[16] = extra("projection", {units, units});
  if (unsupported == "layer_norm") in[20] = extra("input_layer_norm", {units});
  if (unsupported == "cifg") in[1] = in[5] = in[12] = -1;
  if (unsupported == "const_state")
    in[18] =
        w.AddTensor({"hidden_state", 0, {batch, units}, {}, {}, bytes(ones(batch * units)), true});
  int32_t clip_bits = 0;
  std::memcpy(&clip_bits, &cell_clip, 4);
  const int32_t activation = unsupported == "relu" ? 1 : 4;  // RELU, TANH
  w.AddOp({44, "", in, {y}, 71, {{0, activation}, {1, clip_bits}, {3, time_major ? 1 : 0}}});
  return w.Finish({in[0]}, {y});
}

std::vector<uint8_t> UnsupportedOpsOnnx() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("unsupported");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(1);
  tt->mutable_shape()->add_dim()->set_dim_value(4);
  auto add = [&](const char* op, const char* domain, const char* input, const char* output) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_domain(domain);
    n->set_name(output);
    n->add_input(input);
    n->add_output(output);
  };
  add("Relu", "", "x", "r");
  add("LSTM", "", "r", "l1");
  add("NonMaxSuppression", "", "l1", "nms");
  add("FancyOp", "com.example", "nms", "fancy");
  add("LSTM", "", "fancy", "l2");
  g->add_output()->set_name("l2");
  std::string bytes;
  m.SerializeToString(&bytes);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::vector<uint8_t> TinyFcTflite() {
  TfliteWriter w;
  std::vector<uint8_t> weights(6 * 10);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<uint8_t>((i * 37) % 255);
  std::vector<uint8_t> bias(6 * 4, 0);
  for (size_t i = 0; i < 6; ++i) bias[i * 4] = static_cast<uint8_t>(i * 10);
  const int x = w.AddTensor({"input", 9, {1, 10}, {0.02f}, {-3}, {}});
  const int wt = w.AddTensor({"weights", 9, {6, 10}, {0.01f}, {0}, weights});
  const int bt = w.AddTensor({"bias", 2, {6}, {0.0002f}, {0}, bias});
  const int h = w.AddTensor({"fc", 9, {1, 6}, {0.05f}, {-128}, {}});
  const int y = w.AddTensor({"probs", 9, {1, 6}, {1.0f / 256}, {-128}, {}});
  w.AddOp({9, "", {x, wt, bt}, {h}, 8, {{0, 1}}});  // FULLY_CONNECTED, fused RELU
  w.AddOp({25, "", {h}, {y}});                      // SOFTMAX (beta defaults to 0: given below)
  return w.Finish({x}, {y});
}

void MutateBytes(std::vector<uint8_t>& m, std::mt19937_64& rng, int max_edits) {
  const int edits = 1 + static_cast<int>(rng() % static_cast<uint64_t>(max_edits));
  for (int e = 0; e < edits && !m.empty(); ++e) {
    const size_t pos = rng() % m.size();
    switch (rng() % 4) {
      case 0:
        m[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        m[pos] = static_cast<uint8_t>(rng());
        break;
      case 2:
        m[pos] = 0xFF;
        break;
      default:
        m.resize(pos + 1);
        break;
    }
  }
}

namespace {
struct ScratchRoot {
  std::string path =
      (std::filesystem::temp_directory_path() / ("tml-test-" + std::to_string(::getpid())))
          .string();
  ~ScratchRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
}  // namespace

std::string WorkDir(const std::string& name) {
  static ScratchRoot root;
  return root.path + "/" + name;
}

int FreeLoopbackPort() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  int port = 0;
  if (s >= 0 && bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &n) == 0)
    port = ntohs(a.sin_port);
  if (s >= 0) close(s);
  return port;
}

std::string EmptyWorkDir(const std::string& name) {
  const std::string d = WorkDir(name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

const std::vector<std::string>& PublishedModelFiles() {
  static const std::vector<std::string> files = {"kws_ref_model.tflite",
                                                 "kws_ref_model_float32.tflite", "ad01_int8.tflite",
                                                 "ad01_fp32.tflite"};
  return files;
}

std::string SharedModel(const std::string& file) {
  const std::string p = std::string(TML_SHARED_DIR) + "/models/" + file;
  return std::filesystem::exists(p) ? p : "";
}

}  // namespace tml::testing
