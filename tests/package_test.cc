#include "package/package.h"

#include <gtest/gtest.h>

#include <cstring>

#include "fixtures.h"
#include "formats/import.h"
#include "interp/interpreter.h"
#include "op_cases.h"
#include "tml_package.h"
#include "zoo/mlperf_models.h"

namespace tml {
namespace {

// Seeded inputs for every graph input, back to back (floats as small values).
std::vector<uint8_t> Inputs(const Graph& g, uint64_t seed) {
  std::vector<uint8_t> all;
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const Tensor& x = g.tensor(g.inputs[k]);
    const auto r = testing::RandomI8(x.nbytes(), seed + k);
    if (x.dtype == DType::kFloat32) {
      for (size_t e = 0; e < x.nbytes() / 4; ++e) {
        const float f = static_cast<float>(r[e]) / 64.0f;
        const auto* b = reinterpret_cast<const uint8_t*>(&f);
        all.insert(all.end(), b, b + 4);
      }
    } else {
      all.insert(all.end(), reinterpret_cast<const uint8_t*>(r.data()),
                 reinterpret_cast<const uint8_t*>(r.data()) + x.nbytes());
    }
  }
  return all;
}

std::vector<uint8_t> Interpret(const Graph& g, const std::vector<uint8_t>& in) {
  auto interp = Interpreter::Create(g);
  EXPECT_TRUE(interp.ok()) << interp.status().message();
  if (!interp.ok()) return {};
  size_t pos = 0;
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    std::memcpy((*interp)->input(k), in.data() + pos, (*interp)->input_bytes(k));
    pos += (*interp)->input_bytes(k);
  }
  (*interp)->Invoke();
  std::vector<uint8_t> out;
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const auto* o = static_cast<const uint8_t*>((*interp)->output(k));
    out.insert(out.end(), o, o + (*interp)->output_bytes(k));
  }
  return out;
}

// The package runs what the interpreter runs, byte for byte, on several inputs.
void ExpectBitExact(const Graph& g, const std::string& what, int inputs) {
  auto pkg = WritePackage(g);
  ASSERT_TRUE(pkg.ok()) << what << ": " << pkg.status().message();
  auto info = InspectPackage(*pkg);
  ASSERT_TRUE(info.ok()) << what << ": " << info.status().message();
  for (int s = 0; s < inputs; ++s) {
    const auto in = Inputs(g, 100 + static_cast<uint64_t>(s));
    auto out = RunPackage(*pkg, in);
    ASSERT_TRUE(out.ok()) << what << ": " << out.status().message();
    EXPECT_EQ(*out, Interpret(g, in)) << what << ", input " << s;
  }
}

TEST(Package, EveryOpCaseRunsBitExactWithTheInterpreter) {
  int n = 0;
  for (const auto& c : testing::AllOpCases()) {
    auto g = c.build();
    ASSERT_TRUE(g.ok()) << c.name;
    ExpectBitExact(*g, c.name, 2);
    ++n;
  }
  EXPECT_GT(n, 50);
}

TEST(Package, Int8MlperfArchitecturesRunBitExact) {
  for (const auto& z : zoo::MlperfModels()) {
    auto f = z.build(2);
    ASSERT_TRUE(f.ok()) << z.name;
    auto g = zoo::QuantizeSynthetic(*f, 2, 4);
    ASSERT_TRUE(g.ok()) << z.name << ": " << g.status().message();
    ExpectBitExact(*g, z.name, 2);
  }
}

TEST(Package, PublishedModelsRunBitExact) {
  for (const std::string& file : testing::PublishedModelFiles()) {
    const std::string path = testing::SharedModel(file);
    if (path.empty()) GTEST_SKIP() << "../shared/models is absent";
    auto g = LoadModel(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    ExpectBitExact(*g, file, 3);
  }
}

TEST(Package, DeclaresWhatTheModelNeeds) {
  auto f = zoo::DsCnnKws(1);
  ASSERT_TRUE(f.ok());
  auto g = zoo::QuantizeSynthetic(*f, 1, 4);
  ASSERT_TRUE(g.ok());
  PackageOptions opt;
  opt.model_version = 7;
  opt.name = "kws";
  auto pkg = WritePackage(*g, opt);
  ASSERT_TRUE(pkg.ok()) << pkg.status().message();
  auto info = InspectPackage(*pkg);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->model_version, 7u);
  EXPECT_EQ(info->name, "kws");
  EXPECT_EQ(info->model_id.size(), 32u);
  EXPECT_EQ(info->format, TML_PKG_FORMAT);
  auto plan = Interpreter::Create(*g);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(info->arena_bytes, (*plan)->plan().arena_bytes);
  EXPECT_GT(info->scratch_bytes, 0);
  ASSERT_EQ(info->inputs.size(), 1u);
  const Tensor& x = g->tensor(g->inputs[0]);
  EXPECT_EQ(info->inputs[0].shape, x.shape);
  EXPECT_EQ(info->inputs[0].dtype, DType::kInt8);
  EXPECT_FLOAT_EQ(info->inputs[0].scale, x.quant.scale[0]);
  EXPECT_EQ(info->inputs[0].zero_point, x.quant.zero_point[0]);
  EXPECT_EQ(info->outputs[0].bytes, 12);
  bool fast_conv = false;
  for (const auto& k : info->kernels) fast_conv |= k == "tml_conv2d_s8_fast";
  EXPECT_TRUE(fast_conv);
  EXPECT_EQ(info->opset & ~tml_pkg_runtime_opset(), 0u);
  // The weights are in the package once: no more than the model's constants plus the
  // optimized layouts' corrections.
  int64_t consts = 0;
  for (const Tensor& t : g->tensors)
    if (t.is_const) consts += static_cast<int64_t>(t.nbytes());
  EXPECT_GT(info->weight_bytes, consts / 2);
  EXPECT_LT(info->payload_bytes, 3 * consts + 8192);
  // Same graph, same id; another version, same id.
  opt.model_version = 8;
  auto again = WritePackage(*g, opt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(InspectPackage(*again)->model_id, info->model_id);
}

// Header fields at their offsets (docs/package.md).
void Set32(std::vector<uint8_t>& p, size_t offset, uint32_t v) {
  std::memcpy(p.data() + offset, &v, 4);
}
uint32_t Get32(const std::vector<uint8_t>& p, size_t offset) {
  uint32_t v;
  std::memcpy(&v, p.data() + offset, 4);
  return v;
}

std::vector<uint8_t> SmallPackage() {
  auto f = zoo::FcAutoencoder(1);
  auto g = zoo::QuantizeSynthetic(*f, 1, 2);
  auto pkg = WritePackage(*g);
  EXPECT_TRUE(pkg.ok()) << pkg.status().message();
  return pkg.ok() ? *pkg : std::vector<uint8_t>{};
}

void ExpectRefused(const std::vector<uint8_t>& p, const std::string& reason) {
  auto r = InspectPackage(p);
  ASSERT_FALSE(r.ok()) << "accepted; expected " << reason;
  EXPECT_EQ(r.status().message().rfind(reason + ":", 0), 0u) << r.status().message();
}

TEST(Package, BrokenPackagesAreRefusedWithTheReason) {
  const std::vector<uint8_t> good = SmallPackage();
  ASSERT_FALSE(good.empty());
  ASSERT_TRUE(InspectPackage(good).ok());
  auto p = good;
  p[0] ^= 1;
  ExpectRefused(p, "magic");
  ExpectRefused(std::vector<uint8_t>(good.begin(), good.begin() + 100), "truncated");
  ExpectRefused(std::vector<uint8_t>(good.begin(), good.end() - 16), "truncated");
  p = good;
  Set32(p, offsetof(tml_pkg_header, format), 99);
  ExpectRefused(p, "format");
  p = good;
  Set32(p, offsetof(tml_pkg_header, kernel_abi), 99);
  ExpectRefused(p, "abi");
  p = good;
  Set32(p, offsetof(tml_pkg_header, num_blobs), 0x10000000u);
  ExpectRefused(p, "bounds");
  p = good;  // the first blob moved past the end
  Set32(p, Get32(p, offsetof(tml_pkg_header, blobs_offset)), Get32(p, 12) + 16);
  ExpectRefused(p, "bounds");
  p = good;  // the first call names a kernel that does not exist
  const uint32_t calls = Get32(p, offsetof(tml_pkg_header, calls_offset));
  p[calls] = 60;
  ExpectRefused(p, "kernel");
  p = good;  // the declared op set leaves out a called kernel
  Set32(p, offsetof(tml_pkg_header, opset_lo), 0);
  ExpectRefused(p, "kernel");
  p = good;  // an expected self-test output byte changed
  const uint32_t out_blob = Get32(p, offsetof(tml_pkg_header, selftest_output));
  const uint32_t entry = Get32(p, offsetof(tml_pkg_header, blobs_offset)) + 8 * out_blob;
  p[Get32(p, entry)] ^= 0x40;
  ExpectRefused(p, "selftest");
}

// Every byte of the header, tensor specs, blob table and call heads, mutated: the
// runtime's checks either refuse the package or it still passes its self-test; it
// never reads outside the package (this test runs under ASan too). What the checks do
// not cover (parameter values, argument offsets) the signature does.
TEST(Package, MutatedHeadersAndTablesAreRefusedOrHarmless) {
  const std::vector<uint8_t> good = SmallPackage();
  ASSERT_FALSE(good.empty());
  std::vector<size_t> bytes;
  const uint32_t tables_end = Get32(good, offsetof(tml_pkg_header, calls_offset));
  for (size_t i = 0; i < tables_end; ++i) bytes.push_back(i);
  uint32_t c = tables_end;
  for (uint32_t k = 0; k < Get32(good, offsetof(tml_pkg_header, num_calls)); ++k) {
    for (size_t i = 0; i < 8; ++i) bytes.push_back(c + i);
    c += 8 + 4 * (good[c + 2]);
  }
  int refused = 0, total = 0;
  for (size_t i : bytes)
    for (uint8_t v : {uint8_t{0}, uint8_t{0xFF}, static_cast<uint8_t>(good[i] ^ 0x01),
                      static_cast<uint8_t>(good[i] ^ 0x80)}) {
      if (v == good[i]) continue;
      auto p = good;
      p[i] = v;
      auto r = InspectPackage(p);
      ++total;
      if (!r.ok()) {
        ++refused;
        EXPECT_FALSE(r.status().message().empty());
      }
    }
  // Names, the model id, the version and unused reserved bytes are free text; nearly
  // everything else is checked.
  EXPECT_GT(refused, total / 2) << refused << " of " << total;
}

}  // namespace
}  // namespace tml
