#include "package/package.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "fixtures.h"
#include "formats/import.h"
#include "frontend/frontend.h"
#include "interp/interpreter.h"
#include "op_cases.h"
#include "package/signing.h"
#include "tml_dsp.h"
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

// One interpreter, one inference per input (recurrent state carries over).
std::vector<std::vector<uint8_t>> InterpretSequence(const Graph& g,
                                                    const std::vector<std::vector<uint8_t>>& ins) {
  auto interp = Interpreter::Create(g);
  EXPECT_TRUE(interp.ok()) << interp.status().message();
  if (!interp.ok()) return {};
  std::vector<std::vector<uint8_t>> outs;
  for (const auto& in : ins) {
    size_t pos = 0;
    for (size_t k = 0; k < g.inputs.size(); ++k) {
      std::memcpy((*interp)->input(k), in.data() + pos, (*interp)->input_bytes(k));
      pos += (*interp)->input_bytes(k);
    }
    (*interp)->Invoke();
    std::vector<uint8_t>& out = outs.emplace_back();
    for (size_t k = 0; k < g.outputs.size(); ++k) {
      const auto* o = static_cast<const uint8_t*>((*interp)->output(k));
      out.insert(out.end(), o, o + (*interp)->output_bytes(k));
    }
  }
  return outs;
}

std::vector<uint8_t> Interpret(const Graph& g, const std::vector<uint8_t>& in) {
  auto outs = InterpretSequence(g, {in});
  return outs.empty() ? std::vector<uint8_t>{} : outs[0];
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

// Recurrent state (SVDF, LSTM) in a package: flagged in the header; the device's self-test
// leaves it at zero, then it carries from one inference to the next, byte for byte as in
// the interpreter; a fresh start differs from a carried state.
TEST(Package, RecurrentStateCarriesOverAfterTheSelfTest) {
  int n = 0;
  for (const auto& c : testing::AllOpCases()) {
    if (c.op != OpType::kSvdf && c.op != OpType::kLstm) continue;
    SCOPED_TRACE(c.name);
    auto g = c.build();
    ASSERT_TRUE(g.ok());
    auto pkg = WritePackage(*g);
    ASSERT_TRUE(pkg.ok()) << pkg.status().message();
    auto info = InspectPackage(*pkg);
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_TRUE(info->recurrent_state);
    std::vector<std::vector<uint8_t>> ins;
    for (uint64_t s = 0; s < 4; ++s) ins.push_back(Inputs(*g, 200 + s));
    auto outs = RunPackageSequence(*pkg, ins);
    ASSERT_TRUE(outs.ok()) << outs.status().message();
    EXPECT_EQ(*outs, InterpretSequence(*g, ins));
    auto fresh = RunPackage(*pkg, ins[3]);
    ASSERT_TRUE(fresh.ok());
    EXPECT_NE(*fresh, (*outs)[3]) << "the state made no difference: the test would prove little";
    ++n;
  }
  EXPECT_EQ(n, 5);
  // Stateless models are not flagged.
  auto plain = WritePackage(*testing::AllOpCases().front().build());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(InspectPackage(*plain)->recurrent_state);
}

// A listening device's way through a package with a front end: the first call's parameters
// and tables stream the features frame by frame, and the calls after it, run on that
// window, answer what the whole package answers for the same samples.
TEST(Package, AFrontEndStreamsAndTheRestRunsFromTheSecondCall) {
  auto fe = FindFrontEnd("mlperf-kws");
  ASSERT_TRUE(fe.ok());
  auto ds = zoo::MlperfModels()[0].build(3);
  ASSERT_TRUE(ds.ok());
  auto q = zoo::QuantizeSynthetic(*ds, 3, 2);
  ASSERT_TRUE(q.ok());
  auto model = AttachFrontEnd(*q, *fe);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto bytes = WritePackage(*model);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  tml_pkg pkg;
  ASSERT_EQ(tml_pkg_open(&pkg, bytes->data(), static_cast<uint32_t>(bytes->size())), TML_PKG_OK);
  tml_pkg_frontend f;
  ASSERT_EQ(tml_pkg_frontend_of(&pkg, &f), 0);
  EXPECT_FALSE(f.fixed);
  EXPECT_EQ(f.p.frames, 49);
  EXPECT_EQ(f.p.frame_step, 320);

  std::vector<float> audio(16000);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (float& x : audio) x = u(rng);
  std::vector<uint8_t> arena(pkg.h->arena_bytes + 16), scratch(pkg.h->scratch_bytes + 16);
  auto* sc = reinterpret_cast<int8_t*>(scratch.data());
  std::memcpy(tml_pkg_input(&pkg, arena.data(), 0), audio.data(), audio.size() * 4);
  tml_pkg_invoke(&pkg, arena.data(), sc);
  const tml_pkg_tensor_spec* out = tml_pkg_tensor(&pkg, pkg.h->num_inputs);
  const auto* o = static_cast<const uint8_t*>(tml_pkg_output(&pkg, arena.data(), 0));
  const std::vector<uint8_t> whole(o, o + out->bytes);

  tml_mfcc_config c;
  tml_mfcc_config_of(&f.p, &c);
  tml_mfcc_plan plan;
  tml_mfcc_bind(&c, static_cast<const float*>(f.tables), f.index, &plan);
  std::vector<float> samples(static_cast<size_t>(c.frame_length)),
      ring(static_cast<size_t>(49 * c.num_mfcc)), frame_scratch(4096);
  tml_mfcc_stream s;
  tml_mfcc_stream_init(&s, &plan, samples.data(), ring.data(), 49);
  std::fill(arena.begin(), arena.end(), 0);
  for (size_t at = 0; at < audio.size(); at += 320)
    tml_mfcc_stream_push(&s, audio.data() + at, 320, frame_scratch.data());
  EXPECT_EQ(s.frames, 49);
  ASSERT_EQ(tml_mfcc_stream_window(&s, reinterpret_cast<float*>(arena.data() + f.out_offset)), 1);
  tml_pkg_invoke_from(&pkg, 1, arena.data(), sc);
  EXPECT_EQ(std::vector<uint8_t>(o, o + out->bytes), whole);
  std::fill(arena.begin(), arena.end(), 0);  // the front end's output alone decides
  tml_pkg_invoke_from(&pkg, 1, arena.data(), sc);
  EXPECT_NE(std::vector<uint8_t>(o, o + out->bytes), whole);

  // A package that starts with anything else has no front end to stream.
  auto plain = WritePackage(*q);
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(tml_pkg_open(&pkg, plain->data(), static_cast<uint32_t>(plain->size())), TML_PKG_OK);
  EXPECT_EQ(tml_pkg_frontend_of(&pkg, &f), -1);
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

// A one-convolution int8 package of about 2 KB (an op case).
std::vector<uint8_t> SmallPackage() {
  Result<Graph> g = Status::Error("no case");
  for (const auto& c : testing::AllOpCases())
    if (c.name == "conv_s8_pad_s1_odd") g = c.build();
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return {};
  auto pkg = WritePackage(*g);
  EXPECT_TRUE(pkg.ok()) << pkg.status().message();
  return pkg.ok() ? *pkg : std::vector<uint8_t>{};
}

void ExpectRefused(const std::vector<uint8_t>& p, const std::string& reason,
                   const std::vector<uint8_t>& key = {}) {
  auto r = InspectPackage(p, key);
  ASSERT_FALSE(r.ok()) << "accepted; expected " << reason;
  EXPECT_EQ(r.status().message().rfind(reason + ":", 0), 0u) << r.status().message();
}

// A changed payload with a fresh digest: what reaches the structural checks.
std::vector<uint8_t> Reseal(std::vector<uint8_t> p) {
  p.resize(Get32(p, offsetof(tml_pkg_header, payload_bytes)));
  AppendTrailer(p, {}, {});
  return p;
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
  p[200] ^= 1;
  ExpectRefused(p, "digest");
  p = good;
  Set32(p, offsetof(tml_pkg_header, format), 99);
  ExpectRefused(Reseal(p), "format");
  p = good;
  Set32(p, offsetof(tml_pkg_header, kernel_abi), 99);
  ExpectRefused(Reseal(p), "abi");
  p = good;
  Set32(p, offsetof(tml_pkg_header, num_blobs), 0x10000000u);
  ExpectRefused(Reseal(p), "bounds");
  p = good;  // the first blob moved past the end
  Set32(p, Get32(p, offsetof(tml_pkg_header, blobs_offset)), Get32(p, 12) + 16);
  ExpectRefused(Reseal(p), "bounds");
  p = good;  // the first call names a kernel that does not exist
  const uint32_t calls = Get32(p, offsetof(tml_pkg_header, calls_offset));
  p[calls] = 60;
  ExpectRefused(Reseal(p), "kernel");
  p = good;  // the declared op set leaves out a called kernel
  Set32(p, offsetof(tml_pkg_header, opset_lo), 0);
  ExpectRefused(Reseal(p), "kernel");
  p = good;  // an expected self-test output byte changed
  const uint32_t out_blob = Get32(p, offsetof(tml_pkg_header, selftest_output));
  const uint32_t entry = Get32(p, offsetof(tml_pkg_header, blobs_offset)) + 8 * out_blob;
  p[Get32(p, entry)] ^= 0x40;
  ExpectRefused(Reseal(p), "selftest");
}

// Single-byte changes anywhere (every byte of the header, tables, calls and trailer,
// every 7th of the blobs) are all refused: the digest covers the payload, the trailer
// checks cover the rest. The structural checks behind them are the test above.
TEST(Package, EveryMutatedByteIsRefused) {
  const std::vector<uint8_t> good = SmallPackage();
  ASSERT_FALSE(good.empty());
  const uint32_t payload = Get32(good, offsetof(tml_pkg_header, payload_bytes));
  uint32_t blobs_start = payload;
  const uint32_t table = Get32(good, offsetof(tml_pkg_header, blobs_offset));
  for (uint32_t b = 0; b < Get32(good, offsetof(tml_pkg_header, num_blobs)); ++b)
    blobs_start = std::min(blobs_start, Get32(good, table + 8 * b));
  int total = 0;
  for (size_t i = 0; i < good.size(); i += (i >= blobs_start && i < payload) ? 7 : 1) {
    auto p = good;
    p[i] ^= static_cast<uint8_t>(1u << (i % 8));
    auto r = InspectPackage(p);
    ++total;
    EXPECT_FALSE(r.ok()) << "byte " << i << " of " << good.size() << " changed, still accepted";
  }
  EXPECT_GT(total, 400);
}

TEST(Package, SignedPackagesVerifyOnlyWithTheirKey) {
  const std::string dir = testing::EmptyWorkDir("package_keys");
  auto keys = CreateSigningKeys(dir + "/a");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  auto again = CreateSigningKeys(dir + "/a");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  struct stat st {};
  ASSERT_EQ(stat(keys->private_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto other = CreateSigningKeys(dir + "/b");
  ASSERT_TRUE(other.ok());
  auto pub = LoadPublicKey(keys->public_key);
  auto other_pub = LoadPublicKey(other->public_key);
  ASSERT_TRUE(pub.ok() && other_pub.ok()) << pub.status().message();
  EXPECT_EQ(pub->size(), 65u);
  EXPECT_EQ(KeyIdHex(*pub), keys->key_id);

  const std::vector<uint8_t> unsigned_pkg = SmallPackage();
  auto signed_pkg = SignPackage(unsigned_pkg, keys->private_key);
  ASSERT_TRUE(signed_pkg.ok()) << signed_pkg.status().message();
  auto info = InspectPackage(*signed_pkg, *pub);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->key_id, keys->key_id);
  EXPECT_TRUE(InspectPackage(*signed_pkg).ok());  // the digest alone, without a key
  EXPECT_TRUE(InspectPackage(unsigned_pkg)->key_id.empty());
  ExpectRefused(unsigned_pkg, "signature", *pub);       // not signed at all
  ExpectRefused(*signed_pkg, "signature", *other_pub);  // signed by another key
  auto p = *signed_pkg;
  p[300] ^= 4;
  ExpectRefused(p, "digest", *pub);  // altered after signing
  p = *signed_pkg;
  p[p.size() - 12] ^= 1;  // the signature itself damaged
  ExpectRefused(p, "signature", *pub);
  // Re-signing replaces the trailer: the payload is unchanged.
  auto resigned = SignPackage(*signed_pkg, other->private_key);
  ASSERT_TRUE(resigned.ok());
  EXPECT_TRUE(InspectPackage(*resigned, *other_pub).ok());
  EXPECT_FALSE(LoadPublicKey(keys->private_key + ".missing").ok());
  EXPECT_FALSE(SignPackage(unsigned_pkg, keys->public_key).ok());
}

}  // namespace
}  // namespace tml
