// Devices on QEMU: the device image receives signed model packages over its serial
// port, checks them, switches slots, runs them bit-exact with the host, refuses bad
// ones while the old model keeps running, resumes a cut transfer, survives power cuts
// at every flash operation of an update, and answers damaged frames with errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "app/capture.h"
#include "app/control_loop.h"
#include "app/deploy.h"
#include "app/split_run.h"
#include "app/stream.h"
#include "core/clock.h"
#include "fixtures.h"
#include "fleet/agent.h"
#include "fleet/broker_auth.h"
#include "fleet/device_link.h"
#include "fleet/emulated_device.h"
#include "fleet/listen.h"
#include "fleet/telemetry_ingest.h"
#include "formats/export.h"
#include "formats/import.h"
#include "frontend/frontend.h"
#include "interp/interpreter.h"
#include "keyword_fixtures.h"
#include "mqtt_broker.h"
#include "op_cases.h"
#include "package/package.h"
#include "package/signing.h"
#include "pipeline/lineage.h"
#include "prepare/builder.h"
#include "store/telemetry_store.h"
#include "targets/device_image.h"
#include "tml_package.h"
#include "zoo/mlperf_models.h"
#include "zoo/streaming_models.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> Interpret(const Graph& g, const std::vector<uint8_t>& in) {
  auto interp = Interpreter::Create(g);
  EXPECT_TRUE(interp.ok());
  std::memcpy((*interp)->input(0), in.data(), (*interp)->input_bytes(0));
  (*interp)->Invoke();
  const auto* o = static_cast<const uint8_t*>((*interp)->output(0));
  return {o, o + (*interp)->output_bytes(0)};
}

// The index of the largest int8 output (the device's top class of a quantized output).
int TopClass(const std::vector<uint8_t>& out) {
  int best = 0;
  for (size_t c = 1; c < out.size(); ++c)
    if (static_cast<int8_t>(out[c]) > static_cast<int8_t>(out[static_cast<size_t>(best)]))
      best = static_cast<int>(c);
  return best;
}

std::vector<uint8_t> Input(const Graph& g, uint64_t seed) {
  const auto r = testing::RandomI8(g.tensor(g.inputs[0]).nbytes(), seed);
  return {reinterpret_cast<const uint8_t*>(r.data()),
          reinterpret_cast<const uint8_t*>(r.data()) + r.size()};
}

struct Model {
  Graph graph;
  std::vector<uint8_t> package;
};

// A one-convolution int8 model (an op case): a package of about 2 KB.
Graph OneConv() {
  for (const auto& c : testing::AllOpCases())
    if (c.name == "conv_s8_pad_s1_odd") {
      auto g = c.build();
      EXPECT_TRUE(g.ok());
      if (g.ok()) return *g;
    }
  ADD_FAILURE() << "no conv_s8_pad_s1_odd case";
  return Graph();
}

class DeviceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(DeviceSourceDir() + "/library/ecdsa.c")) return;
    dir_ = new std::string(testing::EmptyWorkDir("devices"));
    auto keys = CreateSigningKeys(*dir_ + "/keys");
    ASSERT_TRUE(keys.ok()) << keys.status().message();
    keys_ = new KeyFiles(*keys);
    auto other = CreateSigningKeys(*dir_ + "/other-keys");
    ASSERT_TRUE(other.ok());
    other_keys_ = new KeyFiles(*other);
    auto m4 = FindTarget("cortex-m4");
    ASSERT_TRUE(m4.ok());
    DeviceImageOptions o;
    o.signing_key_header = keys_->c_header;
    o.flash_bytes = 1 << 20;
    auto img = BuildDeviceImage(*m4, *dir_ + "/image-m4", o);
    ASSERT_TRUE(img.ok()) << img.status().message();
    image_ = new DeviceImage(*img);
    o.arena_bytes = 256;  // less than any model here needs
    img = BuildDeviceImage(*m4, *dir_ + "/image-small", o);
    ASSERT_TRUE(img.ok()) << img.status().message();
    small_image_ = new DeviceImage(*img);
    // Two versions of one keyword model, and a one-layer model for the power-cut test.
    for (int v = 1; v <= 2; ++v) {
      auto f = zoo::DsCnnKws(static_cast<uint64_t>(v));
      auto g = zoo::QuantizeSynthetic(*f, static_cast<uint64_t>(v), 2);
      ASSERT_TRUE(g.ok());
      models_[v] = Sign(*g, static_cast<uint32_t>(v), keys_->private_key);
    }
  }
  static void TearDownTestSuite() {}

  static Model* Sign(const Graph& g, uint32_t version, const std::string& key) {
    PackageOptions po;
    po.model_version = version;
    auto pkg = WritePackage(g, po);
    EXPECT_TRUE(pkg.ok()) << pkg.status().message();
    auto s = SignPackage(*pkg, key);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return new Model{g, *s};
  }

  void SetUp() override {
    if (!image_) GTEST_SKIP() << "no mbedTLS device sources (scripts/fetch-device-sources.sh)";
  }

  // A device with its own flash file under the test's folder.
  std::unique_ptr<EmulatedDevice> StartDevice(const std::string& name, uint32_t cut = 0,
                                              const DeviceImage* img = nullptr,
                                              const std::string& sensor = "") {
    EmulatedDeviceOptions o;
    o.id = name;
    o.flash_path = *dir_ + "/" + name + ".flash";
    o.cut_at = cut;
    o.sensor_path = sensor;
    auto d = EmulatedDevice::Start(img ? *img : *image_, o);
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d.ok() ? std::move(*d) : nullptr;
  }
  std::unique_ptr<DeviceLink> Link(EmulatedDevice& d) {
    auto l = DeviceLink::Connect(d.address(), 20000);
    EXPECT_TRUE(l.ok()) << l.status().message() << "\n" << d.process().Log();
    if (!l.ok()) return nullptr;
    auto h = (*l)->Hello();
    EXPECT_TRUE(h.ok()) << h.status().message() << "\n" << d.process().Log();
    return std::move(*l);
  }
  void Deploy(DeviceLink& link, const Model& m) {
    auto s = link.SendPackage(m.package);
    ASSERT_TRUE(s.ok()) << s.message();
    s = link.Activate();
    ASSERT_TRUE(s.ok()) << s.message();
  }
  void ExpectRuns(DeviceLink& link, const Model& m, uint64_t seed) {
    const auto in = Input(m.graph, seed);
    auto r = link.Infer(in);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->output, Interpret(m.graph, in)) << "seed " << seed;
    EXPECT_GT(r->result.ticks, 0u);
  }
  // Powers the device back (no cut) after a cut: it must run a valid model, the old or
  // the new one, bit-exact; returns its version (0 if none).
  uint32_t PowerBack(EmulatedDeviceOptions o, const Model& old_model, const Model& new_model,
                     uint64_t seed, const std::string& when) {
    o.cut_at = 0;
    auto again = EmulatedDevice::Start(*image_, o);
    EXPECT_TRUE(again.ok());
    if (!again.ok()) return 0;
    auto link = Link(**again);
    if (!link) return 0;
    auto h = link->Hello();
    EXPECT_TRUE(h.ok() && h->active_slot != 0xFFFFFFFFu) << "no model after " << when;
    if (!h.ok() || h->active_slot == 0xFFFFFFFFu) return 0;
    const uint32_t v = h->slots[h->active_slot].version;
    EXPECT_TRUE(v == PackageVersion(old_model) || v == PackageVersion(new_model)) << v;
    ExpectRuns(*link, v == PackageVersion(new_model) ? new_model : old_model, seed);
    return v;
  }
  // A deploy through the test broker, signed with the suite's key.
  static DeployRequest Request(int broker_port) {
    DeployRequest q;
    q.broker.broker_port = broker_port;
    q.signing_key = keys_->private_key;
    q.timeout_ms = 120000;
    return q;
  }
  // A package signed with the suite's key whose expected self-test output is wrong:
  // only running it tells.
  static std::vector<uint8_t> FailingSelfTest(const Graph& g, uint32_t version) {
    auto bad = WritePackage(g, PackageOptions{version});
    EXPECT_TRUE(bad.ok());
    if (!bad.ok()) return {};
    std::vector<uint8_t>& p = *bad;
    const auto get32 = [&](size_t at) {
      uint32_t v;
      std::memcpy(&v, p.data() + at, 4);
      return v;
    };
    const uint32_t entry = get32(offsetof(tml_pkg_header, blobs_offset)) +
                           8 * get32(offsetof(tml_pkg_header, selftest_output));
    p[get32(entry)] ^= 0x40;
    p.resize(get32(offsetof(tml_pkg_header, payload_bytes)));
    AppendTrailer(p, {}, {});
    auto signed_bad = SignPackage(p, keys_->private_key);
    EXPECT_TRUE(signed_bad.ok());
    return signed_bad.ok() ? *signed_bad : std::vector<uint8_t>();
  }
  static uint32_t PackageVersion(const Model& m) {
    return InspectPackage(m.package)->model_version;
  }
  static void ExpectRefusal(const Status& s, const std::string& what) {
    ASSERT_FALSE(s.ok()) << "accepted; expected " << what;
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  }

  static std::string* dir_;
  static KeyFiles *keys_, *other_keys_;
  static DeviceImage *image_, *small_image_;
  static Model* models_[3];
};
std::string* DeviceTest::dir_ = nullptr;
KeyFiles* DeviceTest::keys_ = nullptr;
KeyFiles* DeviceTest::other_keys_ = nullptr;
DeviceImage* DeviceTest::image_ = nullptr;
DeviceImage* DeviceTest::small_image_ = nullptr;
Model* DeviceTest::models_[3] = {};

TEST_F(DeviceTest, HelloTellsWhatTheDeviceIs) {
  auto dev = StartDevice("hello");
  auto link = Link(*dev);
  ASSERT_TRUE(link);
  auto h = link->Hello();
  ASSERT_TRUE(h.ok());
  EXPECT_STREQ(h->device_id, "hello");
  EXPECT_STREQ(h->core, "cortex-m4");
  EXPECT_EQ(h->isa & TML_ISA_DSP, TML_ISA_DSP);
  EXPECT_EQ(h->arena_bytes, image_->arena_bytes);
  EXPECT_EQ(h->ram_bytes, 262144u);
  EXPECT_EQ(h->slot_bytes, image_->slot_bytes);
  EXPECT_EQ(uint64_t{h->opset_hi} << 32 | h->opset_lo, tml_pkg_runtime_opset());
  EXPECT_EQ(h->package_format, TML_PKG_FORMAT);
  EXPECT_EQ(h->active_slot, 0xFFFFFFFFu);
  EXPECT_EQ(h->slots[0].state, TML_SLOT_EMPTY);
  ExpectRefusal(link->Infer({1, 2, 3}).status(), "no model");
}

TEST_F(DeviceTest, UpdatesOverTheAirRunBitExactAndRollBack) {
  auto dev = StartDevice("ota");
  auto link = Link(*dev);
  ASSERT_TRUE(link);
  Deploy(*link, *models_[1]);
  for (uint64_t s = 0; s < 3; ++s) ExpectRuns(*link, *models_[1], s);  // 3: auto-confirmed
  auto h = link->Hello();
  EXPECT_EQ(h->confirmed_version, 1u);
  EXPECT_EQ(h->slots[h->active_slot].state, TML_SLOT_CONFIRMED);
  const uint32_t first = h->active_slot;
  Deploy(*link, *models_[2]);
  h = link->Hello();
  EXPECT_EQ(h->active_slot, 1 - first);
  EXPECT_EQ(h->slots[h->active_slot].state, TML_SLOT_TRIAL);
  EXPECT_EQ(h->slots[first].state, TML_SLOT_STANDBY);
  ExpectRuns(*link, *models_[2], 7);
  auto st = link->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->model_version, 2u);
  EXPECT_EQ(st->inferences, 4u);
  ASSERT_TRUE(link->Rollback().ok());
  ExpectRuns(*link, *models_[1], 8);
  h = link->Hello();
  EXPECT_EQ(h->active_slot, first);
  EXPECT_NE(
      std::string(h->slots[first].model_id, 32).find(InspectPackage(models_[1]->package)->model_id),
      std::string::npos);
  ExpectRefusal(link->Rollback(), "state");  // nothing left to go back to
  // The state survives a restart.
  dev->Kill();
  dev = StartDevice("ota");
  link = Link(*dev);
  ASSERT_TRUE(link);
  ExpectRuns(*link, *models_[1], 9);
  EXPECT_EQ(link->Hello()->boots, 2u);
}

TEST_F(DeviceTest, BadPackagesAreRefusedAndTheOldModelKeepsRunning) {
  auto dev = StartDevice("refuse");
  auto link = Link(*dev);
  ASSERT_TRUE(link);
  Deploy(*link, *models_[2]);
  for (uint64_t s = 0; s < 3; ++s) ExpectRuns(*link, *models_[2], s);  // confirmed: floor 2
  // Small packages (one convolution) keep the transfers short.
  Graph small_graph = OneConv();
  auto tampered = Sign(small_graph, 3, keys_->private_key)->package;
  tampered[1000] ^= 0x10;
  ExpectRefusal(link->SendPackage(tampered), "digest");
  ExpectRuns(*link, *models_[2], 10);
  auto wrong_key = Sign(small_graph, 3, other_keys_->private_key);
  ExpectRefusal(link->SendPackage(wrong_key->package), "signature");
  ExpectRuns(*link, *models_[2], 11);
  ExpectRefusal(link->SendPackage(Sign(small_graph, 1, keys_->private_key)->package), "downgrade");
  ExpectRuns(*link, *models_[2], 12);
  PackageOptions v3;
  v3.model_version = 3;
  auto unsigned_pkg = WritePackage(small_graph, v3);
  ExpectRefusal(link->SendPackage(*unsigned_pkg), "signature");
  ExpectRefusal(link->Activate(), "state");  // nothing ready to switch to
  // A device with less arena than the model needs refuses it on arrival.
  auto tiny = StartDevice("tiny", 0, small_image_);
  auto tiny_link = Link(*tiny);
  ASSERT_TRUE(tiny_link);
  auto needs = Sign(small_graph, 1, keys_->private_key);
  ASSERT_GT(InspectPackage(needs->package)->arena_bytes, 256);
  ExpectRefusal(tiny_link->SendPackage(needs->package), "arena");
  auto h = tiny_link->Hello();
  EXPECT_EQ(h->active_slot, 0xFFFFFFFFu);
  EXPECT_EQ(h->slots[0].state, TML_SLOT_EMPTY);
  ExpectRuns(*link, *models_[2], 13);
}

TEST_F(DeviceTest, ATransferCutByARestartResumes) {
  auto dev = StartDevice("resume");
  auto link = Link(*dev);
  ASSERT_TRUE(link);
  const auto& pkg = models_[1]->package;
  ASSERT_GT(pkg.size(), 34000u);
  // The device dies once 34000 bytes have arrived (the last checkpoint: 32 KB).
  const Status cut = link->SendPackage(pkg, [&](size_t done, size_t) {
    if (done >= 34000) dev->Kill();
  });
  ASSERT_FALSE(cut.ok());
  dev = StartDevice("resume");
  link = Link(*dev);
  ASSERT_TRUE(link);
  auto h = link->Hello();
  EXPECT_EQ(h->slots[0].state, TML_SLOT_RECEIVING);
  size_t first = 0, calls = 0;
  const Status s = link->SendPackage(pkg, [&](size_t done, size_t) {
    if (calls++ == 0) first = done;  // the first call: where the device resumes
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(first, 32768u) << "did not resume from the checkpoint";
  ASSERT_TRUE(link->Activate().ok());
  ExpectRuns(*link, *models_[1], 1);
}

// Malformed, truncated, replayed and oversized frames get an error reply and change
// nothing; random damage to valid frames never stops the device.
TEST_F(DeviceTest, DamagedFramesGetErrorsAndChangeNothing) {
  auto dev = StartDevice("frames");
  auto link = Link(*dev);
  ASSERT_TRUE(link);
  Deploy(*link, *models_[1]);
  ExpectRuns(*link, *models_[1], 1);
  auto frame = [&](uint8_t type, uint16_t seq, const std::vector<uint8_t>& payload) {
    std::vector<uint8_t> out(TML_PROTO_MAX_FRAME);
    out.resize(tml_proto_encode(out.data(), static_cast<uint32_t>(out.size()), type, seq,
                                payload.data(), static_cast<uint32_t>(payload.size())));
    return out;
  };
  auto expect_error = [&](const std::vector<uint8_t>& bytes, int code) {
    ASSERT_TRUE(link->SendRaw(bytes.data(), bytes.size()).ok());
    auto f = link->ReadFrame(10000);
    ASSERT_TRUE(f.ok()) << f.status().message();
    ASSERT_EQ(f->type, TML_MSG_ERROR);
    tml_proto_error e;
    std::memcpy(&e, f->payload.data(), sizeof e);
    EXPECT_EQ(e.code, code) << DeviceErrorMessage(f->payload);
  };
  auto f = frame(TML_MSG_STATS, link->NextSeq(), {});
  f[5] ^= 0x40;  // the checksum no longer matches
  expect_error(f, TML_E_CRC);
  f = frame(TML_MSG_STATS, link->NextSeq(), {});
  f[2] = 9;
  expect_error(f, TML_E_VERSION);
  f = frame(TML_MSG_STATS, link->NextSeq(), {});
  f[6] = 0xFF;
  f[7] = 0x7F;
  expect_error({f.begin(), f.begin() + 8}, TML_E_OVERSIZE);
  expect_error(frame(TML_MSG_XFER_BEGIN, link->NextSeq(), {1, 2, 3}), TML_E_TRUNCATED);
  expect_error(frame(0x33, link->NextSeq(), {}), TML_E_TYPE);
  const uint16_t seq = link->NextSeq();
  ASSERT_TRUE(link->SendRaw(frame(TML_MSG_STATS, seq, {}).data(), TML_PROTO_OVERHEAD).ok());
  ASSERT_TRUE(link->ReadFrame(10000).ok());
  expect_error(frame(TML_MSG_ROLLBACK, seq, {}), TML_E_REPLAY);  // replayed: not done
  expect_error(frame(TML_MSG_XFER_CHUNK, link->NextSeq(), {0, 0, 0, 0, 1}), TML_E_STATE);
  expect_error(frame(TML_MSG_INFER, link->NextSeq(), {1, 2}), TML_E_INPUT);
  // Random damage to valid requests: past the two sync bytes, each gets exactly one
  // error reply (a damaged length is answered once the padding has filled it).
  std::mt19937 rng(5);
  const std::vector<uint8_t> pad(TML_PROTO_MAX_FRAME, 0);
  for (int i = 0; i < 60; ++i) {
    auto g = frame(TML_MSG_ROLLBACK, link->NextSeq(), {});
    const size_t at = 2 + rng() % (g.size() - 2);
    g[at] ^= static_cast<uint8_t>(1 + rng() % 255);
    ASSERT_TRUE(link->SendRaw(g.data(), g.size()).ok());
    ASSERT_TRUE(link->SendRaw(pad.data(), pad.size()).ok());
    auto r = link->ReadFrame(10000);
    ASSERT_TRUE(r.ok()) << "byte " << at << ": " << r.status().message();
    EXPECT_EQ(r->type, TML_MSG_ERROR) << "byte " << at;
  }
  auto h = link->Hello();
  ASSERT_TRUE(h.ok()) << h.status().message();
  ExpectRuns(*link, *models_[1], 2);
  // Inputs larger than a frame travel in INPUT frames; the same here, in two pieces.
  const auto in = Input(models_[1]->graph, 21);
  for (uint32_t off : {0u, 300u}) {
    std::vector<uint8_t> piece(4);
    std::memcpy(piece.data(), &off, 4);
    piece.insert(piece.end(), in.begin() + off, off ? in.end() : in.begin() + 300);
    ASSERT_TRUE(link->Call(TML_MSG_INPUT, piece.data(), piece.size()).ok());
  }
  auto staged = link->Call(TML_MSG_INFER, nullptr, 0);
  ASSERT_TRUE(staged.ok()) << staged.status().message();
  EXPECT_EQ(std::vector<uint8_t>(staged->payload.begin() + sizeof(tml_proto_result),
                                 staged->payload.end()),
            Interpret(models_[1]->graph, in));
  const uint32_t past = static_cast<uint32_t>(in.size());
  std::vector<uint8_t> beyond(8, 0);
  std::memcpy(beyond.data(), &past, 4);
  ExpectRefusal(link->Call(TML_MSG_INPUT, beyond.data(), beyond.size()).status(), "input");
  EXPECT_EQ(h->slots[h->active_slot].version, 1u);
}

// The emulated sensor replays samples from a file: telemetry for each (the class the
// host computes), and the samples below the confidence threshold captured whole.
TEST_F(DeviceTest, TheEmulatedSensorReportsTelemetryAndCapturesSamples) {
  const Model& m = *models_[1];
  std::vector<std::vector<uint8_t>> inputs;
  std::vector<uint8_t> file;
  for (uint64_t s = 0; s < 4; ++s) {
    inputs.push_back(Input(m.graph, 50 + s));
    file.insert(file.end(), inputs.back().begin(), inputs.back().end());
  }
  const std::string sensor = *dir_ + "/sensor.bin";
  {
    std::ofstream f(sensor, std::ios::binary);
    f.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  EmulatedDeviceOptions o;
  o.id = "sensing";
  o.flash_path = *dir_ + "/sensing.flash";
  o.sensor_path = sensor;
  auto dev = EmulatedDevice::Start(*image_, o);
  ASSERT_TRUE(dev.ok());
  auto link = Link(**dev);
  ASSERT_TRUE(link);
  ExpectRefusal(link->Sense(2, 2.0f).status(), "no model");
  Deploy(*link, m);
  // Six samples from a file of four: the sensor wraps around. Capture everything.
  auto all = link->Sense(6, 2.0f);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 6u);
  for (size_t i = 0; i < all->size(); ++i) {
    const auto& s = (*all)[i];
    EXPECT_EQ(s.telemetry.top_class, TopClass(Interpret(m.graph, inputs[i % 4]))) << "sample " << i;
    EXPECT_EQ(s.telemetry.model_version, 1u);
    EXPECT_GT(s.telemetry.ticks, 0u);
    ASSERT_TRUE(s.captured);
    EXPECT_EQ(s.sample, inputs[i % 4]) << "sample " << i;
    EXPECT_STREQ(s.capture.device_id, "sensing");
    EXPECT_EQ(s.capture.model_version, 1u);
  }
  // A threshold of 0 captures nothing; telemetry still comes.
  auto none = link->Sense(3, 0.0f);
  ASSERT_TRUE(none.ok()) << none.status().message();
  for (const auto& s : *none) EXPECT_FALSE(s.captured);
  EXPECT_EQ(link->Stats()->inferences, 9u);

  // A shadow: nothing staged yet, then v2 received without activation runs beside v1
  // on the same samples (the sensor goes on where it stopped: sample 9 is file input 1).
  ExpectRefusal(link->Sense(1, 0.0f, true).status(), "state");
  const Model& v2 = *models_[2];
  ASSERT_TRUE(link->SendPackage(v2.package).ok());
  auto shadowed = link->Sense(3, 0.0f, true);
  ASSERT_TRUE(shadowed.ok()) << shadowed.status().message();
  for (size_t i = 0; i < shadowed->size(); ++i) {
    const auto& s = (*shadowed)[i];
    const auto& in = inputs[(10 + i) % 4];
    ASSERT_TRUE(s.shadowed) << "sample " << i;
    EXPECT_EQ(s.shadow.model_version, 2u);
    EXPECT_EQ(s.shadow.active_version, 1u);
    EXPECT_EQ(s.shadow.top_class, TopClass(Interpret(v2.graph, in))) << "sample " << i;
    EXPECT_EQ(s.shadow.active_class, TopClass(Interpret(m.graph, in))) << "sample " << i;
    EXPECT_EQ(s.telemetry.top_class, s.shadow.active_class);
    EXPECT_EQ(s.telemetry.model_version, 1u);  // the answer served is still v1's
  }
  EXPECT_EQ(link->Stats()->model_version, 1u);
  // Activating the staged package sends nothing again.
  size_t start = 0;
  ASSERT_TRUE(link->SendPackage(v2.package,
                                [&](size_t done, size_t total) {
                                  if (start == 0) start = done ? done : total + 1;
                                })
                  .ok());
  EXPECT_EQ(start, v2.package.size());
  ASSERT_TRUE(link->Activate().ok());
  EXPECT_EQ(link->Stats()->model_version, 2u);

  // A staged package whose self-test fails (signed, so only running it tells) is
  // refused at its first shadow run, and its slot emptied.
  const std::vector<uint8_t> bad = FailingSelfTest(m.graph, 3);
  ASSERT_FALSE(bad.empty());
  ASSERT_TRUE(link->SendPackage(bad).ok());
  ExpectRefusal(link->Sense(1, 0.0f, true).status(), "selftest");
  auto h = link->Hello();
  ASSERT_TRUE(h.ok());
  for (const auto& slot : h->slots) EXPECT_NE(slot.state, TML_SLOT_READY);
  EXPECT_EQ(h->slots[h->active_slot].version, 2u);
}

// The emulated microphone: a keyword model with its front end in the package listens to a
// recording that the device reads one stride at a time (each feature frame computed once,
// the rest of the model every hop frames), pushing telemetry per inference and the
// detections, which are the host's (RunStream) to the bit; then a stateful model may not
// shadow it, and a model without a front end cannot listen.
TEST_F(DeviceTest, AListeningDeviceDetectsWhatTheHostDetects) {
  KeywordStream k = testing::SynthKeywordStream(3, 5);
  k.audio.resize(std::min<size_t>(k.audio.size(), 5 * 16000));
  StreamRequest r;
  r.model = testing::KwsModel("mlperf-kws");
  r.classes = testing::KwsClasses();
  r.options.threshold = 0.2f;  // the seeded model's posteriors are flat
  r.options.refractory = 2;
  auto host = RunStream(r, k.audio);
  ASSERT_TRUE(host.ok()) << host.status().message();
  ASSERT_GT(host->events.size(), 0u) << "no detection to compare";

  const std::string mic = *dir_ + "/microphone.f32";
  {
    std::ofstream f(mic, std::ios::binary);
    f.write(reinterpret_cast<const char*>(k.audio.data()),
            static_cast<std::streamsize>(k.audio.size() * sizeof(float)));
  }
  auto dev = StartDevice("listening", 0, nullptr, mic);
  ASSERT_TRUE(dev);
  auto link = Link(*dev);
  ASSERT_TRUE(link);
  std::unique_ptr<Model> kws(Sign(r.model, 1, keys_->private_key));
  Deploy(*link, *kws);
  tml_proto_stream set{};
  set.hop = static_cast<uint32_t>(r.options.hop);
  set.smooth = static_cast<uint32_t>(r.options.smooth);
  set.refractory = static_cast<uint32_t>(r.options.refractory);
  set.threshold = r.options.threshold;
  for (size_t c = 0; c < r.classes.size(); ++c)
    if (IsKeywordClass(r.classes[c])) set.keywords |= 1u << c;
  // In two runs: the stream goes on where the first stopped.
  const uint32_t first = static_cast<uint32_t>(host->inferences / 2);
  auto a = link->Listen(first, set);
  ASSERT_TRUE(a.ok()) << a.status().message() << "\n" << dev->process().Log();
  auto b = link->Listen(static_cast<uint32_t>(host->inferences) - first, set);
  ASSERT_TRUE(b.ok()) << b.status().message();
  std::vector<StreamEvent> got;
  for (const auto* run : {&*a, &*b})
    for (const auto& d : run->detections) {
      got.push_back({d.frame, d.keyword, d.score});
      EXPECT_EQ(d.model_version, 1u);
    }
  EXPECT_EQ(got, host->events);
  ASSERT_EQ(a->telemetry.size(), first);
  for (const auto& t : a->telemetry) {
    EXPECT_GT(t.ticks, 0u);
    EXPECT_GE(t.top_class, 0);
    EXPECT_LT(t.top_class, static_cast<int32_t>(r.classes.size()));
  }
  EXPECT_EQ(link->Stats()->inferences, static_cast<uint32_t>(host->inferences));
  std::cout << host->inferences << " inferences on the listening device, " << host->events.size()
            << " detections, equal to the host's\n";

  // Other settings start the stream again from the file's start: the first run's again.
  tml_proto_stream set2 = set;
  set2.smooth = 1;
  set2.threshold = 1.0f;  // never reached by a softmax of flat posteriors
  auto c = link->Listen(2, set2);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->detections.empty());
  auto again = link->Listen(first, set);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->detections.size(), a->detections.size());
  set2.hop = 0;
  ExpectRefusal(link->Listen(1, set2).status(), "settings out of range");

  // Through the gateway agent and the control plane: the refused settings started the
  // stream again, so a sense command with these settings hears the host's detections;
  // they are stored as raw detection records, the inferences as telemetry.
  link.reset();
  auto broker = testing::MqttBroker::Start(*dir_ + "/listen-broker");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  AgentOptions ao;
  ao.id = "gw-listen";
  ao.broker_port = (*broker)->port();
  ao.devices = {dev->address()};
  auto agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  auto ws = OpenWorkspace(testing::EmptyWorkDir("listen-ws"));
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  auto conn = OpenStore(ws->db_spec);
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  auto ingest = TelemetryIngest::Start(std::move(*conn), {});
  ASSERT_TRUE(ingest.ok()) << ingest.status().message();
  ControlOptions co;
  co.broker_port = (*broker)->port();
  co.on_device_message = (*ingest)->Sink();
  auto cp = ControlPlane::Connect(co);
  ASSERT_TRUE(cp.ok()) << cp.status().message();
  const nlohmann::json req = {{"count", host->inferences}, {"stream", ListenJson(set)}};
  const std::string body = req.dump();
  auto ev =
      (*cp)->Command("listening", "sense", std::vector<uint8_t>(body.begin(), body.end()), 120000);
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_TRUE((*ev)["ok"].get<bool>()) << ev->dump();
  EXPECT_EQ((*ev)["detections"], host->events.size()) << ev->dump();
  // The outcome comes after the messages it reports (one agent connection, in order).
  ASSERT_TRUE((*ingest)->Flush(20000).ok());
  auto stored = RecentTelemetry(*ws->db, "listening", "detection", 1000);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  ASSERT_EQ(stored->size(), host->events.size());
  for (size_t i = 0; i < stored->size(); ++i) {  // newest first
    const TelemetryRecord& rec = (*stored)[stored->size() - 1 - i];
    EXPECT_EQ(rec.top_class, host->events[i].cls) << i;
    EXPECT_FLOAT_EQ(static_cast<float>(rec.confidence), host->events[i].score) << i;
    EXPECT_EQ(nlohmann::json::parse(rec.data)["frame"], host->events[i].frame) << i;
  }
  EXPECT_EQ(RecentTelemetry(*ws->db, "listening", "telemetry", 1000)->size(),
            static_cast<size_t>(host->inferences));
  const nlohmann::json bad = {{"count", 1}, {"stream", {{"keywords", nlohmann::json::array()}}}};
  const std::string bad_body = bad.dump();
  auto refused = (*cp)->Command("listening", "sense",
                                std::vector<uint8_t>(bad_body.begin(), bad_body.end()), 30000);
  ASSERT_TRUE(refused.ok()) << refused.status().message();
  EXPECT_FALSE((*refused)["ok"].get<bool>());
  EXPECT_NE((*refused)["error"].get<std::string>().find("keyword classes"), std::string::npos)
      << refused->dump();
  cp->reset();
  agent->reset();  // lets go of the device's serial port
  link = Link(*dev);
  ASSERT_TRUE(link);

  // A model with recurrent state shares no arena: it may not shadow this one.
  auto svdf = zoo::SvdfKws(3);
  ASSERT_TRUE(svdf.ok()) << svdf.status().message();
  auto sq = zoo::QuantizeSynthetic(*svdf, 3, 4);
  ASSERT_TRUE(sq.ok()) << sq.status().message();
  std::unique_ptr<Model> stateful(Sign(*sq, 2, keys_->private_key));
  ASSERT_TRUE(link->SendPackage(stateful->package).ok());
  ExpectRefusal(link->Sense(1, 0.0f, true).status(), "stateful");
  auto h = link->Hello();
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->slots[1 - h->active_slot].state, TML_SLOT_READY) << "the package itself is fine";

  // Without a front end in the package there is nothing to stream.
  Deploy(*link, *models_[2]);
  ExpectRefusal(link->Listen(1, set).status(), "front end");
}

// The gateway agent bridges two devices to a real Mosquitto broker: retained hello with
// capabilities, deploy / infer / sense commands over MQTT, and the will message when it
// goes away without a goodbye.
TEST_F(DeviceTest, TheGatewayAgentBridgesDevicesToMqtt) {
  auto broker = testing::MqttBroker::Start(*dir_);
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  auto d1 = StartDevice("gw-dev1");
  auto d2 = StartDevice("gw-dev2");
  AgentOptions o;
  o.id = "gw1";
  o.broker_port = (*broker)->port();
  o.devices = {d1->address(), d2->address()};
  auto agent = Agent::Start(o);
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  EXPECT_EQ((*agent)->device_ids(), (std::vector<std::string>{"gw-dev1", "gw-dev2"}));
  // A client that arrives later still sees the birth messages (retained).
  auto probe = testing::MqttProbe::Connect((*broker)->port(), "probe", "tinymlaas/#");
  ASSERT_TRUE(probe.ok()) << probe.status().message();
  auto hello = (*probe)->WaitFor("tinymlaas/devices/gw-dev2/hello", nullptr, 10000);
  ASSERT_TRUE(hello.ok()) << hello.status().message();
  auto late = testing::MqttProbe::Connect((*broker)->port(), "late", "tinymlaas/devices/+/hello");
  ASSERT_TRUE(late.ok());
  auto kept = (*late)->WaitFor("tinymlaas/devices/gw-dev1/hello", nullptr, 10000);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_TRUE(kept->retained);
  auto h = nlohmann::json::parse(hello->payload);
  EXPECT_EQ(h["core"], "cortex-m4");
  EXPECT_EQ(h["agent"], "gw1");
  EXPECT_EQ(h["arena_bytes"], image_->arena_bytes);
  EXPECT_EQ(h["opset"], tml_pkg_runtime_opset());
  auto state = (*probe)->WaitFor(
      "tinymlaas/agents/gw1/state", [](const auto& m) { return m.payload == "online"; }, 10000);
  ASSERT_TRUE(state.ok());

  // Deploy to dev1 over MQTT; run it; the result is the host's.
  const Model& m = *models_[1];
  ASSERT_TRUE((*probe)
                  ->Publish("tinymlaas/devices/gw-dev1/cmd/deploy",
                            std::string(m.package.begin(), m.package.end()))
                  .ok());
  auto ev = (*probe)->WaitFor(
      "tinymlaas/devices/gw-dev1/events",
      [](const auto& x) {  // the outcome, not a progress event
        return x.payload.find("\"deploy\"") != std::string::npos &&
               x.payload.find("\"ok\"") != std::string::npos;
      },
      60000);
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  auto e = nlohmann::json::parse(ev->payload);
  EXPECT_TRUE(e["ok"].get<bool>()) << ev->payload;
  EXPECT_EQ(e["model_version"], 1);
  const auto in = Input(m.graph, 77);
  ASSERT_TRUE(
      (*probe)
          ->Publish("tinymlaas/devices/gw-dev1/cmd/infer", std::string(in.begin(), in.end()))
          .ok());
  auto res = (*probe)->WaitFor("tinymlaas/devices/gw-dev1/result", nullptr, 30000);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(nlohmann::json::parse(res->payload)["output"], HexBytes(Interpret(m.graph, in)));
  // A refused package and an unknown command come back as failed events; dev2 is untouched.
  auto tampered = m.package;
  tampered[500] ^= 1;
  ASSERT_TRUE((*probe)
                  ->Publish("tinymlaas/devices/gw-dev2/cmd/deploy",
                            std::string(tampered.begin(), tampered.end()))
                  .ok());
  ev = (*probe)->WaitFor(
      "tinymlaas/devices/gw-dev2/events",
      [](const auto& x) {  // the outcome, not a progress event
        return x.payload.find("\"deploy\"") != std::string::npos &&
               x.payload.find("\"ok\"") != std::string::npos;
      },
      60000);
  ASSERT_TRUE(ev.ok());
  EXPECT_NE(ev->payload.find("digest"), std::string::npos) << ev->payload;
  ASSERT_TRUE((*probe)->Publish("tinymlaas/devices/gw-dev2/cmd/reboot", "").ok());
  ev = (*probe)->WaitFor(
      "tinymlaas/devices/gw-dev2/events",
      [](const auto& x) { return x.payload.find("unknown command") != std::string::npos; }, 30000);
  ASSERT_TRUE(ev.ok());
  // The agent dies without a goodbye: the broker says so.
  (*agent)->Abort();
  state = (*probe)->WaitFor(
      "tinymlaas/agents/gw1/state", [](const auto& x) { return x.payload == "offline"; }, 30000);
  ASSERT_TRUE(state.ok()) << state.status().message();
}

// `tinymlaas deploy` as a component: the registry filled from the broker, a group
// deployed to, each device checked against its HELLO before anything is sent; the
// devices' own refusals recorded; lineage from a device's active model back to the
// model file; an agent's will marking its devices offline.
TEST_F(DeviceTest, DeployUsesTheRegistryRefusesWhatDoesNotFitAndRecordsLineage) {
  auto broker = testing::MqttBroker::Start(*dir_ + "/deploy-broker");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  auto m4 = StartDevice("dep-m4");
  auto tiny = StartDevice("dep-tiny", 0, small_image_);
  AgentOptions ao;
  ao.id = "gw-dep";
  ao.broker_port = (*broker)->port();
  ao.devices = {m4->address(), tiny->address()};
  ao.cache_dir = *dir_ + "/gw-dep-cache";
  auto agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();

  auto ws = OpenWorkspace(testing::EmptyWorkDir("deploy-ws"));
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  MetaStore& db = *ws->db;
  DeployRequest q = Request((*broker)->port());
  auto sync = SyncRegistry(*ws, q.broker);
  ASSERT_TRUE(sync.ok()) << sync.status().message();
  EXPECT_EQ(sync->online_devices, 2);
  auto listed = db.ListDevices("");
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "dep-m4");
  EXPECT_TRUE((*listed)[0].online);
  EXPECT_EQ((*listed)[0].agent, "gw-dep");
  auto caps = nlohmann::json::parse((*listed)[1].capabilities);
  EXPECT_EQ(caps["arena_bytes"], 256);
  for (const char* id : {"dep-m4", "dep-tiny"}) ASSERT_TRUE(db.SetDeviceGroups(id, {"lab"}).ok());

  // Version 1 to the group: the small device is refused on the host, never sent to.
  const Graph conv = OneConv();
  const std::string model = ws->root + "/one_conv.onnx";
  ASSERT_TRUE(SaveOnnx(conv, model).ok());
  q.model = model;
  q.group = "lab";
  Progress quiet;
  auto first = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->devices.size(), 2u);
  EXPECT_EQ(first->devices[0].status, "active") << first->devices[0].message;
  EXPECT_EQ(first->devices[0].version, 1);
  EXPECT_EQ(first->devices[1].status, "refused");
  // The host's words (the device would say it otherwise), so nothing was sent.
  EXPECT_NE(first->devices[1].message.find("dep-tiny has 256"), std::string::npos)
      << first->devices[1].message;
  EXPECT_EQ(first->active(), 1);

  // The device runs it bit-exact with the host; three runs confirm it.
  auto cp = ControlPlane::Connect(q.broker);
  ASSERT_TRUE(cp.ok()) << cp.status().message();
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const auto in = Input(conv, seed);
    auto r = (*cp)->Command("dep-m4", "infer", in, 30000);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ((*r)["output"], HexBytes(Interpret(conv, in)));
  }

  // Lineage: the device's active model -> deployment -> package -> model file.
  ASSERT_TRUE(SyncRegistry(*ws, q.broker).ok());
  auto dev = db.GetDevice("dep-m4");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(nlohmann::json::parse(dev->capabilities)["confirmed_version"], 1);
  auto active = ActiveDeployment(db, *dev);
  ASSERT_TRUE(active.ok() && active->has_value()) << active.status().message();
  EXPECT_EQ((*active)->id, first->devices[0].deployment);
  auto lineage = Lineage(db, "deployment:" + std::to_string((*active)->id), false);
  ASSERT_TRUE(lineage.ok()) << lineage.status().message();
  const std::string text = LineageText(*lineage);
  EXPECT_NE(text.find(first->package_artifact), std::string::npos) << text;
  EXPECT_NE(text.find(first->model_artifact), std::string::npos) << text;

  // Version 2 over the air (the next version by default), confirmed by three runs.
  auto second = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->devices[0].status, "active") << second->devices[0].message;
  EXPECT_EQ(second->devices[0].version, 2);
  EXPECT_EQ(second->devices[1].status, "refused");
  for (uint64_t seed = 4; seed <= 6; ++seed)
    ASSERT_TRUE((*cp)->Command("dep-m4", "infer", Input(conv, seed), 30000).ok());
  // An older version is refused on the host.
  q.group.clear();
  q.devices = {"dep-m4"};
  q.version = 1;
  auto old = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ(old->devices[0].status, "refused");
  EXPECT_NE(old->devices[0].message.find("downgrade"), std::string::npos)
      << old->devices[0].message;
  // Version 3 signed with another key, and a tampered package: only the device can tell.
  q.host_checks = false;
  q.version = 3;
  q.signing_key = other_keys_->private_key;
  auto wrong = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(wrong.ok()) << wrong.status().message();
  EXPECT_EQ(wrong->devices[0].status, "refused");
  EXPECT_NE(wrong->devices[0].message.find("signature"), std::string::npos)
      << wrong->devices[0].message;
  q.version = 0;
  {
    auto pkg = Sign(conv, 3, keys_->private_key)->package;
    pkg[pkg.size() / 2] ^= 0x40;
    q.model = ws->root + "/tampered.tmlp";
    std::ofstream f(q.model, std::ios::binary);
    f.write(reinterpret_cast<const char*>(pkg.data()), static_cast<std::streamsize>(pkg.size()));
  }
  auto tampered = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(tampered.ok()) << tampered.status().message();
  EXPECT_EQ(tampered->devices[0].status, "refused");
  EXPECT_NE(tampered->devices[0].message.find("digest"), std::string::npos)
      << tampered->devices[0].message;
  // Each attempt is recorded; version 2 still runs.
  auto history = db.ListDeployments("dep-m4");
  ASSERT_EQ(history->size(), 5u);
  EXPECT_EQ((*history)[0].status, "refused");
  EXPECT_EQ((*history)[3].status, "active");
  EXPECT_EQ((*history)[3].version, 2);
  const auto in = Input(conv, 9);
  auto still = (*cp)->Command("dep-m4", "infer", in, 30000);
  ASSERT_TRUE(still.ok()) << still.status().message();
  EXPECT_EQ((*still)["output"], HexBytes(Interpret(conv, in)));

  // The v2 package again: the agent kept it, so only its hash crosses the broker.
  q.model = second->package_path;
  q.host_checks = true;
  auto cached = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(cached.ok()) << cached.status().message();
  EXPECT_EQ(cached->devices[0].status, "active") << cached->devices[0].message;
  EXPECT_TRUE(cached->devices[0].from_cache);
  EXPECT_FALSE(tampered->devices[0].from_cache);

  // Stopped (Ctrl-C) before the device's turn: nothing is sent, the error says so.
  struct Stopped : Progress {
    bool Cancelled() override { return true; }
  } stopped;
  const size_t attempts = db.ListDeployments("dep-m4")->size();
  auto cancelled = tml::Deploy(*ws, q, stopped);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
  EXPECT_NE(cancelled.status().message().find("stopped after 0 of 1"), std::string::npos)
      << cancelled.status().message();
  EXPECT_EQ(db.ListDeployments("dep-m4")->size(), attempts);

  // The agent dies: its devices are offline and a deployment to them is refused.
  (*agent)->Abort();
  q.model = model;
  q.host_checks = true;
  q.signing_key = keys_->private_key;
  Result<SyncReport> after = Status::Error("not synced");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    after = SyncRegistry(*ws, q.broker);
    ASSERT_TRUE(after.ok()) << after.status().message();
  } while (after->online_devices > 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(after->online_devices, 0);
  EXPECT_FALSE(db.GetDevice("dep-m4")->online);
  auto offline = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(offline.ok()) << offline.status().message();
  EXPECT_EQ(offline->devices[0].status, "refused");
  EXPECT_NE(offline->devices[0].message.find("offline"), std::string::npos);
}

// Identities: the agent and each device log in as themselves; the broker's ACL lets a
// device publish only its own topics and read only its own commands, and an agent only
// its own state. A wrong password or no login is refused.
TEST_F(DeviceTest, EachAgentAndDeviceReachesOnlyItsOwnTopics) {
  BrokerAuthRequest q;
  q.dir = *dir_ + "/acl-auth";
  q.agents = {"gw-acl"};
  q.devices = {"acl-a", "acl-b"};
  auto auth = WriteBrokerAuth(q);
  ASSERT_TRUE(auth.ok()) << auth.status().message();
  auto pw = ReadBrokerCredentials(auth->credentials_file);
  ASSERT_TRUE(pw.ok()) << pw.status().message();
  ASSERT_EQ(pw->size(), 4u);  // control, the agent, two devices
  // Run again with one more device: the others keep their passwords.
  q.devices.push_back("acl-c");
  auto again = WriteBrokerAuth(q);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->added, (std::vector<std::string>{"acl-c"}));
  EXPECT_EQ(ReadBrokerCredentials(auth->credentials_file)->at("acl-a"), pw->at("acl-a"));
  q.devices.push_back("gw-acl");
  EXPECT_FALSE(WriteBrokerAuth(q).ok());  // one name for two identities

  auto broker = testing::MqttBroker::Start(*dir_ + "/acl-broker", BrokerAuthConfig(*auth));
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  const int port = (*broker)->port();
  auto a = StartDevice("acl-a");
  auto b = StartDevice("acl-b");
  AgentOptions ao;
  ao.id = "gw-acl";
  ao.broker_port = port;
  ao.devices = {a->address(), b->address()};
  ao.username = "gw-acl";
  ao.password = "wrong";
  ao.device_passwords = *pw;
  auto refused = Agent::Start(ao);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("refused agent gw-acl"), std::string::npos)
      << refused.status().message();
  ao.password = pw->at("gw-acl");
  auto agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();

  // The control plane sees both devices (their own users published their HELLOs) and
  // reaches each with a command.
  auto ws = OpenWorkspace(testing::EmptyWorkDir("acl-ws"));
  ASSERT_TRUE(ws.ok());
  ControlOptions co;
  co.broker_port = port;
  co.username = "control";
  co.password = pw->at("control");
  auto sync = SyncRegistry(*ws, co);
  ASSERT_TRUE(sync.ok()) << sync.status().message();
  EXPECT_EQ(sync->online_devices, 2);
  auto cp = ControlPlane::Connect(co);
  ASSERT_TRUE(cp.ok()) << cp.status().message();
  auto ev = (*cp)->Command("acl-b", "hello", {}, 30000);
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_TRUE((*ev)["ok"].get<bool>());

  EXPECT_FALSE(testing::MqttProbe::Connect(port, "anon", "").ok());
  EXPECT_FALSE(testing::MqttProbe::Connect(port, "guess", "", "acl-a", "guess").ok());
  auto watcher =
      testing::MqttProbe::Connect(port, "watcher", "tinymlaas/#", "control", pw->at("control"));
  ASSERT_TRUE(watcher.ok()) << watcher.status().message();
  // acl-a pretends to be acl-b and the agent pretends to be another agent: the broker
  // drops both. acl-a's own event after them arrives (one client's messages keep
  // their order), so the forgeries would have arrived first.
  auto mallory = testing::MqttProbe::Connect(port, "mallory", "", "acl-a", pw->at("acl-a"));
  ASSERT_TRUE(mallory.ok()) << mallory.status().message();
  ASSERT_TRUE((*mallory)->Publish("tinymlaas/devices/acl-b/hello", R"({"forged":true})").ok());
  ASSERT_TRUE((*mallory)->Publish("tinymlaas/devices/acl-b/result", R"({"forged":true})").ok());
  ASSERT_TRUE((*mallory)->Publish("tinymlaas/agents/gw-acl/state", "offline").ok());
  ASSERT_TRUE((*mallory)->Publish("tinymlaas/devices/acl-a/events", R"({"mine":true})").ok());
  ASSERT_TRUE((*watcher)->WaitFor("tinymlaas/devices/acl-a/events", nullptr, 10000).ok());
  for (const auto& m : (*watcher)->Messages())
    EXPECT_EQ(m.payload.find("forged"), std::string::npos) << m.topic << " " << m.payload;
  auto gw = testing::MqttProbe::Connect(port, "gw-spoof", "", "gw-acl", pw->at("gw-acl"));
  ASSERT_TRUE(gw.ok());
  ASSERT_TRUE((*gw)->Publish("tinymlaas/agents/gw-other/state", "online").ok());
  ASSERT_TRUE((*gw)->Publish("tinymlaas/agents/gw-acl/state", "online", true).ok());
  ASSERT_TRUE((*watcher)
                  ->WaitFor(
                      "tinymlaas/agents/gw-acl/state",
                      [](const auto& m) {
                        return !m.retained;  // the live one, not the retained copy at subscribe
                      },
                      10000)
                  .ok());
  for (const auto& m : (*watcher)->Messages())
    EXPECT_NE(m.topic, "tinymlaas/agents/gw-other/state");
  // acl-a cannot read acl-b's commands: Mosquitto grants the subscription but never
  // delivers them. A command to acl-a, sent after one to acl-b, arrives; the other not.
  ASSERT_TRUE((*mallory)->Subscribe("tinymlaas/devices/acl-b/cmd/#").ok());
  ASSERT_TRUE((*mallory)->Subscribe("tinymlaas/devices/acl-a/cmd/#").ok());
  ASSERT_TRUE((*watcher)->Publish("tinymlaas/devices/acl-b/cmd/hello", "").ok());
  ASSERT_TRUE((*watcher)->Publish("tinymlaas/devices/acl-a/cmd/hello", "").ok());
  ASSERT_TRUE((*mallory)->WaitFor("tinymlaas/devices/acl-a/cmd/hello", nullptr, 10000).ok());
  for (const auto& m : (*mallory)->Messages())
    EXPECT_EQ(m.topic.find("tinymlaas/devices/acl-b/"), std::string::npos) << m.topic;
  // The registry still has acl-b's real HELLO and both devices online.
  ASSERT_TRUE(SyncRegistry(*ws, co).ok());
  auto acl_b = ws->db->GetDevice("acl-b");
  ASSERT_TRUE(acl_b.ok());
  EXPECT_EQ(acl_b->capabilities.find("forged"), std::string::npos);
  EXPECT_TRUE(acl_b->online);
  (*agent)->Stop();
}

// The gateway as a device of its own: packages run on the host runtime under a device's
// rules (signature, digest, downgrade, trial and confirmation), its slots survive the
// agent's restart, and the registry and deploy treat it as any device.
TEST_F(DeviceTest, TheGatewayRunsModelsAsADeviceOfItsOwn) {
  auto broker = testing::MqttBroker::Start(*dir_ + "/gw-self-broker");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  auto point = LoadPublicKey(keys_->public_key);
  ASSERT_TRUE(point.ok()) << point.status().message();
  AgentOptions ao;
  ao.id = "gw-self";
  ao.broker_port = (*broker)->port();
  ao.host.id = "gw-self-host";
  ao.host.dir = *dir_ + "/gw-self-host";
  ao.host.trusted_key = *point;
  auto agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();

  auto ws = OpenWorkspace(testing::EmptyWorkDir("gw-self-ws"));
  ASSERT_TRUE(ws.ok());
  DeployRequest q;
  q.broker.broker_port = (*broker)->port();
  q.signing_key = keys_->private_key;
  q.devices = {"gw-self-host"};
  ASSERT_TRUE(SyncRegistry(*ws, q.broker).ok());
  auto dev = ws->db->GetDevice("gw-self-host");
  ASSERT_TRUE(dev.ok()) << dev.status().message();
  EXPECT_TRUE(dev->online);
  auto caps = nlohmann::json::parse(dev->capabilities);
  EXPECT_EQ(caps["core"].get<std::string>().rfind("host-", 0), 0u) << caps.dump();
  EXPECT_TRUE(caps["gateway"].get<bool>());

  const Graph conv = OneConv();
  q.model = ws->root + "/one_conv.onnx";
  ASSERT_TRUE(SaveOnnx(conv, q.model).ok());
  Progress quiet;
  auto v1 = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(v1.ok()) << v1.status().message();
  ASSERT_EQ(v1->devices[0].status, "active") << v1->devices[0].message;
  auto cp = ControlPlane::Connect(q.broker);
  ASSERT_TRUE(cp.ok());
  for (uint64_t seed = 1; seed <= 3; ++seed) {  // bit-exact; three confirm it
    const auto in = Input(conv, seed);
    auto r = (*cp)->Command("gw-self-host", "infer", in, 30000);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const auto want = Interpret(conv, in);
    EXPECT_EQ((*r)["output"], HexBytes(want)) << r->dump();
    int best = 0;  // the device's rule: the largest score (int8: the largest byte)
    for (size_t i = 1; i < want.size(); ++i)
      if (static_cast<int8_t>(want[i]) > static_cast<int8_t>(want[best]))
        best = static_cast<int>(i);
    EXPECT_EQ((*r)["class"], best) << r->dump();
  }
  // Refusals, as a device makes them; v1 keeps running.
  q.host_checks = false;
  q.version = 2;
  q.signing_key = other_keys_->private_key;
  auto wrong = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(wrong.ok());
  EXPECT_NE(wrong->devices[0].message.find("signature"), std::string::npos)
      << wrong->devices[0].message;
  q.version = 1;
  q.signing_key = keys_->private_key;
  q.model = ws->root + "/older.tmlp";
  {
    auto older = Sign(conv, 0, keys_->private_key)->package;
    std::ofstream(q.model, std::ios::binary)
        .write(reinterpret_cast<const char*>(older.data()),
               static_cast<std::streamsize>(older.size()));
  }
  auto down = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(down.ok());
  EXPECT_NE(down->devices[0].message.find("downgrade"), std::string::npos)
      << down->devices[0].message;
  // The agent restarts: the gateway device still runs v1, confirmed.
  (*agent)->Stop();
  agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  ASSERT_TRUE(SyncRegistry(*ws, q.broker).ok());
  caps = nlohmann::json::parse(ws->db->GetDevice("gw-self-host")->capabilities);
  EXPECT_EQ(caps["confirmed_version"], 1) << caps.dump();
  EXPECT_EQ(caps["boots"], 2);
  const auto in = Input(conv, 9);
  auto r = (*cp)->Command("gw-self-host", "infer", in, 30000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["output"], HexBytes(Interpret(conv, in)));
  EXPECT_EQ((*r)["model_version"], 1);
  // v2 on trial, then rolled back: v1 again.
  q.model = ws->root + "/one_conv.onnx";
  q.version = 2;
  q.host_checks = true;
  auto v2 = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  ASSERT_EQ(v2->devices[0].status, "active") << v2->devices[0].message;
  auto back = (*cp)->Command("gw-self-host", "rollback", {}, 30000);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE((*back)["ok"].get<bool>()) << back->dump();
  r = (*cp)->Command("gw-self-host", "infer", in, 30000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["model_version"], 1);
  (*agent)->Stop();
  // A damaged state file is named, not guessed at.
  std::ofstream(ao.host.dir + "/state.json") << "{not json";
  auto bad = HostDevice::Open(ao.host);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("state.json"), std::string::npos) << bad.status().message();
}

// While the broker is away the agent keeps what its devices say, up to a bound; once
// the broker is back it sends what it kept (the newest) and reports how much was lost.
TEST_F(DeviceTest, TheAgentKeepsMessagesWhileTheBrokerIsAwayAndCountsLosses) {
  const std::string bdir = *dir_ + "/buffer-broker";
  // Mosquitto started as root runs as its own user: it must be able to save its state.
  fs::create_directories(bdir);
  fs::permissions(bdir, fs::perms::all);
  auto broker = testing::MqttBroker::Start(
      bdir, "allow_anonymous true\npersistence true\npersistence_location " + bdir + "/\n");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  const Model& m = *models_[1];
  const std::string sensor = *dir_ + "/buffer-sensor.bin";
  {
    const auto in = Input(m.graph, 5);
    std::ofstream(sensor, std::ios::binary)
        .write(reinterpret_cast<const char*>(in.data()), static_cast<std::streamsize>(in.size()));
  }
  auto dev = StartDevice("buffering", 0, nullptr, sensor);
  ASSERT_TRUE(dev);
  AgentOptions ao;
  ao.id = "gw-buffer";
  ao.broker_port = (*broker)->port();
  ao.devices = {dev->address()};
  ao.buffer_messages = 4;
  auto agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  // A persistent session: the broker keeps what comes for the probe across its restart.
  auto probe = testing::MqttProbe::Connect((*broker)->port(), "buffer-probe",
                                           "tinymlaas/devices/buffering/#", "", "", true);
  ASSERT_TRUE(probe.ok()) << probe.status().message();
  // A deploy (some seconds of transfer), then ten sensed samples: the broker goes away
  // as the transfer starts, so the sense's telemetry and events come while it is away.
  ASSERT_TRUE((*probe)
                  ->Publish("tinymlaas/devices/buffering/cmd/deploy",
                            std::string(m.package.begin(), m.package.end()))
                  .ok());
  ASSERT_TRUE(
      (*probe)
          ->Publish("tinymlaas/devices/buffering/cmd/sense", R"({"count": 10, "capture_below": 0})")
          .ok());
  auto started = (*probe)->WaitFor(
      "tinymlaas/devices/buffering/events",
      [](const auto& x) { return x.payload.find("\"start\"") != std::string::npos; }, 60000);
  if (!started.ok()) {  // what the probe saw, for the record
    for (const auto& x : (*probe)->Messages())
      ADD_FAILURE() << x.topic << " " << x.payload.substr(0, 200);
    ADD_FAILURE() << "commands handled: " << (*agent)->commands_handled() << "\n"
                  << dev->process().Log();
  }
  ASSERT_TRUE(started.ok()) << started.status().message();
  ASSERT_TRUE((*broker)->Stop().ok());
  // The agent still works through both commands; then the broker comes back.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((*agent)->commands_handled() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ((*agent)->commands_handled(), 2);
  ASSERT_TRUE((*broker)->Restart().ok());
  auto report = (*probe)->WaitFor(
      "tinymlaas/devices/buffering/events",
      [](const auto& x) { return x.payload.find("\"buffer\"") != std::string::npos; }, 60000);
  if (!report.ok()) {
    for (const auto& x : (*probe)->Messages())
      ADD_FAILURE() << x.topic << " " << x.payload.substr(0, 200);
    std::ifstream f(bdir + "/mosquitto.log");
    ADD_FAILURE() << std::string(std::istreambuf_iterator<char>(f), {});
  }
  ASSERT_TRUE(report.ok()) << report.status().message();
  const auto r = nlohmann::json::parse(report->payload);
  EXPECT_EQ(r["flushed"], 4) << report->payload;
  EXPECT_GE(r["lost"].get<int>(), 7) << report->payload;  // 10 telemetry + 1 event, 4 kept
  EXPECT_FALSE(r["ok"].get<bool>());
  // The newest were kept: the sense's outcome is among them.
  auto sensed = (*probe)->WaitFor(
      "tinymlaas/devices/buffering/events",
      [](const auto& x) { return x.payload.find("\"sense\"") != std::string::npos; }, 10000);
  ASSERT_TRUE(sensed.ok()) << sensed.status().message();
  EXPECT_EQ(nlohmann::json::parse(sensed->payload)["samples"], 10);
  (*agent)->Stop();
}

// What reaches the control plane from the broker is outside input: malformed states and
// HELLOs (junk, wrong types, random mutations of a valid one) never crash it nor reach the
// registry as anything but a JSON object naming its agent, and a device whose HELLO lacks
// a capability is refused with the reason, never sent to.
TEST_F(DeviceTest, TheControlPlaneTakesOnlyWellFormedMessages) {
  auto broker = testing::MqttBroker::Start(*dir_ + "/junk-broker");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  auto probe = testing::MqttProbe::Connect((*broker)->port(), "junk", "");
  ASSERT_TRUE(probe.ok());
  const std::string valid =
      R"({"agent":"gw-x","arena_bytes":4096,"scratch_bytes":1024,"slot_bytes":65536,)"
      R"("opset":3,"package_format":1,"kernel_abi":1,"active_slot":null,"slots":[]})";
  ASSERT_TRUE((*probe)->Publish("tinymlaas/agents/gw-x/state", "online", true).ok());
  ASSERT_TRUE((*probe)->Publish("tinymlaas/agents/gw-y/state", "maybe", true).ok());
  ASSERT_TRUE((*probe)->Publish("tinymlaas/devices/good/hello", valid, true).ok());
  ASSERT_TRUE((*probe)->Publish("tinymlaas/devices/bare/hello", R"({"agent":"gw-x"})", true).ok());
  for (const char* junk : {"not json", "[1,2]", R"({"agent":5})", "", "\xff\xfe{"})
    ASSERT_TRUE((*probe)->Publish("tinymlaas/devices/junk/hello", junk, true).ok());
  std::mt19937 rng(7);
  for (int i = 0; i < 40; ++i) {
    std::string m = valid;
    for (int k = 0; k < 3; ++k) m[rng() % m.size()] = static_cast<char>(rng() % 256);
    ASSERT_TRUE(
        (*probe)->Publish("tinymlaas/devices/mut-" + std::to_string(i) + "/hello", m, true).ok());
  }
  auto ws = OpenWorkspace(testing::EmptyWorkDir("junk-ws"));
  ASSERT_TRUE(ws.ok());
  ControlOptions co;
  co.broker_port = (*broker)->port();
  auto sync = SyncRegistry(*ws, co);
  ASSERT_TRUE(sync.ok()) << sync.status().message();
  auto all = ws->db->ListDevices("");
  ASSERT_TRUE(all.ok());
  bool good = false;
  for (const auto& d : *all) {
    EXPECT_NE(d.id, "junk");
    const auto h = nlohmann::json::parse(d.capabilities, nullptr, false);
    ASSERT_TRUE(h.is_object()) << d.id << ": " << d.capabilities;
    EXPECT_TRUE(h["agent"].is_string()) << d.id;
    good |= d.id == "good" && d.online;
  }
  EXPECT_TRUE(good);
  // A HELLO without the capabilities a deploy needs: refused with the reason.
  DeployRequest q;
  q.broker = co;
  q.devices = {"bare"};
  q.model = ws->root + "/one_conv.onnx";
  ASSERT_TRUE(SaveOnnx(OneConv(), q.model).ok());
  Progress quiet;
  auto r = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->devices[0].status, "refused");
  EXPECT_NE(r->devices[0].message.find("lacks a capability"), std::string::npos)
      << r->devices[0].message;
}

// A control plane asked to stop while a device has not answered a deploy gives up at
// once (not after the deploy's timeout): the device is left pending, not an attempt, for
// the next control plane to send again.
TEST_F(DeviceTest, AStoppedControlPlaneGivesUpWaitingForADevice) {
  auto broker = testing::MqttBroker::Start(*dir_ + "/silent-broker");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  auto probe = testing::MqttProbe::Connect((*broker)->port(), "silent-probe");
  ASSERT_TRUE(probe.ok());
  ASSERT_TRUE((*probe)->Publish("tinymlaas/agents/gw-s/state", "online", true).ok());
  ASSERT_TRUE((*probe)
                  ->Publish("tinymlaas/devices/silent/hello",
                            R"({"agent":"gw-s","arena_bytes":65536,"scratch_bytes":4096,)"
                            R"("slot_bytes":65536,"opset":3,"package_format":1,"kernel_abi":1,)"
                            R"("active_slot":null,"slots":[]})",
                            true)
                  .ok());
  const std::string root = testing::EmptyWorkDir("silent-ws");
  auto ws = OpenWorkspace(root);
  ASSERT_TRUE(ws.ok());
  ControlOptions co;
  co.broker_port = (*broker)->port();
  ASSERT_TRUE(SyncRegistry(*ws, co).ok());
  ASSERT_TRUE(ws->db->SetDeviceGroups("silent", {"quiet"}).ok());
  RolloutRequest rq;
  rq.deploy.broker = co;
  rq.deploy.group = "quiet";
  rq.deploy.host_checks = false;
  rq.deploy.model = root + "/one_conv.onnx";
  ASSERT_TRUE(SaveOnnx(OneConv(), rq.deploy.model).ok());
  rq.stages = {100};
  rq.profile_latency = false;
  Progress quiet;
  auto ro = CreateRollout(*ws, rq, quiet);
  ASSERT_TRUE(ro.ok()) << ro.status().message();

  std::atomic<bool> stop{false};
  Status status;
  std::thread t([&] {
    ControlLoopOptions o;
    o.broker = co;
    o.tick_ms = 200;
    Progress p;
    status = RunControlLoop(*ws, o, stop, p);
  });
  // The deploy went out (by reference first); nobody answers it.
  auto sent = (*probe)->WaitFor(
      "tinymlaas/devices/silent/cmd/deploy", [](const testing::MqttMessage&) { return true; },
      30000);
  EXPECT_TRUE(sent.ok()) << sent.status().message();
  const auto asked = std::chrono::steady_clock::now();
  stop = true;
  t.join();
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(5));
  auto members = RolloutDevices(*ws->db, ro->id);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].status, "pending");
  EXPECT_EQ((*members)[0].attempts, 0);
  auto r = GetRollout(*ws->db, ro->id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, "running");
}

// `tinymlaas control --drift-every`: the group's newest finished rollout's reference
// against its devices' telemetry, on a schedule; a drifting device is alerted once per
// window, not at every check; a group whose newest rollout has no reference is left alone.
TEST_F(DeviceTest, TheControlLoopChecksDriftOnAScheduleAndAlertsOnce) {
  auto broker = testing::MqttBroker::Start(*dir_ + "/drift-broker");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  auto ws = OpenWorkspace(testing::EmptyWorkDir("drift-ws"));
  ASSERT_TRUE(ws.ok());
  MetaStore& db = *ws->db;
  const int64_t minute = NowMs() / 60000 * 60000;
  TelemetryMinute shifted;  // one class, unsure: not what the evaluation set holds
  shifted.device = "dr-1";
  shifted.minute_ms = minute;
  shifted.model_version = 2;
  shifted.inferences = 100;
  shifted.confidence_sum = 40;
  shifted.classes = {90, 4, 3, 3};
  shifted.confidences = {0, 0, 5, 30, 40, 20, 5, 0, 0, 0};
  TelemetryMinute other = shifted;  // as shifted, in a group without a reference
  other.device = "dr-2";
  ASSERT_TRUE(PutTelemetryMinutes(db, {shifted, other}).ok());
  ASSERT_TRUE(db.PutDevice({"dr-1", "gw", "{}", {}, false, 0, 0}).ok());
  ASSERT_TRUE(db.PutDevice({"dr-2", "gw", "{}", {}, false, 0, 0}).ok());
  ASSERT_TRUE(db.SetDeviceGroups("dr-1", {"hall"}).ok());
  ASSERT_TRUE(db.SetDeviceGroups("dr-2", {"yard"}).ok());
  const nlohmann::json reference = {{"data", "speech@1@test"},
                                    {"predicted", {25, 25, 25, 25}},
                                    {"confidence_bins", {0, 0, 0, 0, 0, 5, 5, 10, 30, 50}},
                                    {"confidence_mean", 0.85}};
  // hall: an older rollout, then the newest with a reference; yard: none has one.
  for (const auto& [group, plan] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"hall", {{"version", 1}}},
           {"hall", {{"version", 2}, {"reference", reference}}},
           {"yard", {{"version", 2}}}})
    ASSERT_TRUE(
        AddRollout(db, {0, group, "m.onnx", plan.dump(), "done", 0, "done", 0, 0}, {}).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> ticks{0};
  Status status;
  std::thread t([&] {
    ControlLoopOptions o;
    o.broker.broker_port = (*broker)->port();
    o.tick_ms = 100;
    o.drift_every_ms = 200;
    o.drift_window_ms = 600000;
    o.on_tick = [&](const IngestStats&) { ++ticks; };
    Progress p;
    status = RunControlLoop(*ws, o, stop, p);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ListAlerts(db, "device:dr-1", 10)->empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Several more checks (a tick is at least 100 ms, a check every second tick).
  const int seen = ticks.load();
  while (ticks.load() < seen + 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  t.join();
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_GE(ticks.load(), seen + 10);
  auto alerts = ListAlerts(db, "", 50);
  ASSERT_TRUE(alerts.ok());
  std::map<std::string, int> per;
  for (const AlertRecord& a : *alerts) ++per[a.subject];
  EXPECT_EQ(per["device:dr-1"], 1);
  EXPECT_EQ(per["group:hall"], 1);
  EXPECT_EQ(per.count("device:dr-2"), 0u);
  ASSERT_FALSE(alerts->empty());
  EXPECT_NE(alerts->back().message.find("speech@1@test"), std::string::npos);
}

// Several candidate models in order of preference: each device gets the first that
// fits it (the keyword model where the arena allows, the one-convolution model on a
// 4 KB arena), and a device nothing fits is refused with every reason.
TEST_F(DeviceTest, DeployGivesEachDeviceTheFirstModelThatFits) {
  auto m4 = FindTarget("cortex-m4");
  ASSERT_TRUE(m4.ok());
  DeviceImageOptions io;
  io.signing_key_header = keys_->c_header;
  io.flash_bytes = 1 << 20;
  io.arena_bytes = 4096;
  auto mid_image = BuildDeviceImage(*m4, *dir_ + "/image-4k", io);
  ASSERT_TRUE(mid_image.ok()) << mid_image.status().message();
  auto broker = testing::MqttBroker::Start(*dir_ + "/pick-broker");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  auto big = StartDevice("pick-big");
  auto mid = StartDevice("pick-mid", 0, &*mid_image);
  auto tiny = StartDevice("pick-tiny", 0, small_image_);
  AgentOptions ao;
  ao.id = "gw-pick";
  ao.broker_port = (*broker)->port();
  ao.devices = {big->address(), mid->address(), tiny->address()};
  auto agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();

  auto ws = OpenWorkspace(testing::EmptyWorkDir("pick-ws"));
  ASSERT_TRUE(ws.ok());
  const std::string kws = ws->root + "/kws.onnx", conv = ws->root + "/conv.onnx";
  ASSERT_TRUE(SaveOnnx(models_[1]->graph, kws).ok());
  ASSERT_TRUE(SaveOnnx(OneConv(), conv).ok());
  DeployRequest q;
  q.broker.broker_port = (*broker)->port();
  q.signing_key = keys_->private_key;
  q.model = kws;
  q.alternatives = {conv};
  q.devices = {"pick-big", "pick-mid", "pick-tiny"};
  Progress quiet;
  auto r = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->packages.size(), 2u);
  ASSERT_EQ(r->devices.size(), 3u);
  EXPECT_EQ(r->devices[0].status, "active") << r->devices[0].message;
  EXPECT_EQ(r->devices[0].package, r->packages[0].package_artifact);
  EXPECT_EQ(r->devices[1].status, "active") << r->devices[1].message;
  EXPECT_EQ(r->devices[1].package, r->packages[1].package_artifact);
  EXPECT_EQ(r->devices[2].status, "refused");
  EXPECT_NE(r->devices[2].message.find("none of the 2 packages fits"), std::string::npos)
      << r->devices[2].message;
  EXPECT_NE(r->devices[2].message.find("kws.onnx: arena"), std::string::npos);
  EXPECT_NE(r->devices[2].message.find("conv.onnx: arena"), std::string::npos);
  // Each runs what it got, bit-exact with the host.
  auto cp = ControlPlane::Connect(q.broker);
  ASSERT_TRUE(cp.ok());
  for (const auto& [id, path] :
       {std::pair<std::string, std::string>{"pick-big", kws}, {"pick-mid", conv}}) {
    auto g = LoadModel(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    const auto in = Input(*g, 3);
    auto res = (*cp)->Command(id, "infer", in, 30000);
    ASSERT_TRUE(res.ok()) << res.status().message();
    EXPECT_EQ((*res)["output"], HexBytes(Interpret(*g, in))) << id;
  }
}

// The same sources build and run on the other emulated cores.
// A staged rollout on three emulated MCUs whose agent senses on its own (a device's main
// loop): v2 through a canary then the rest, each device judged healthy from its
// telemetry; the control plane killed mid-way and started again updates no device twice;
// a v3 slower than its profile allows is halted on the canary and rolled back.
TEST_F(DeviceTest, RolloutsAdvanceByStageJudgeTelemetryHaltAndRollBack) {
  // A broker that keeps its sessions across a restart, as a production one would.
  const std::string bdir = *dir_ + "/rollout-broker";
  fs::create_directories(bdir);
  fs::permissions(bdir, fs::perms::all);
  auto broker = testing::MqttBroker::Start(
      bdir, "allow_anonymous true\npersistence true\npersistence_location " + bdir + "/\n");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  const Graph conv = OneConv();
  const std::string sensor = *dir_ + "/rollout-sensor.bin";
  {
    std::ofstream f(sensor, std::ios::binary);
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      const auto in = Input(conv, seed);
      f.write(reinterpret_cast<const char*>(in.data()), static_cast<std::streamsize>(in.size()));
    }
  }
  std::vector<std::unique_ptr<EmulatedDevice>> devices;
  AgentOptions ao;
  ao.id = "gw-ro";
  ao.broker_port = (*broker)->port();
  ao.sense_every_ms = 300;
  for (const char* id : {"ro-1", "ro-2", "ro-3"}) {
    EmulatedDeviceOptions o;
    o.id = id;
    o.flash_path = *dir_ + "/" + id + ".flash";
    o.sensor_path = sensor;
    o.icount = true;  // ticks that count instructions: the latency check's unit
    auto d = EmulatedDevice::Start(*image_, o);
    ASSERT_TRUE(d.ok()) << d.status().message();
    ao.devices.push_back((*d)->address());
    devices.push_back(std::move(*d));
  }
  auto agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();

  const std::string root = testing::EmptyWorkDir("rollout-ws");
  auto ws = OpenWorkspace(root);
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  MetaStore& db = *ws->db;
  DeployRequest q = Request((*broker)->port());
  ASSERT_TRUE(SyncRegistry(*ws, q.broker).ok());
  for (const char* id : {"ro-1", "ro-2", "ro-3"})
    ASSERT_TRUE(db.SetDeviceGroups(id, {"fleet"}).ok());
  const std::string model = root + "/one_conv.onnx";
  ASSERT_TRUE(SaveOnnx(conv, model).ok());
  q.model = model;
  q.group = "fleet";
  Progress quiet;
  auto v1 = tml::Deploy(*ws, q, quiet);
  ASSERT_TRUE(v1.ok()) << v1.status().message();
  ASSERT_EQ(v1->active(), 3);

  // The control plane in a thread of its own, on a connection of its own.
  struct Loop {
    std::atomic<bool> stop{false};
    Status status;
    std::thread t;
    ~Loop() {
      stop = true;
      if (t.joinable()) t.join();
    }
  };
  const auto start_loop = [&](Loop& l) {
    l.t = std::thread([&l, root, port = (*broker)->port()] {
      auto w = OpenWorkspace(root);
      if (!w.ok()) {
        l.status = w.status();
        return;
      }
      ControlLoopOptions o;
      o.broker.broker_port = port;
      o.tick_ms = 300;
      Progress p;
      l.status = RunControlLoop(*w, o, l.stop, p);
    });
  };
  const auto stop_loop = [](Loop& l) {
    l.stop = true;
    l.t.join();
    EXPECT_TRUE(l.status.ok()) << l.status.message();
  };
  const auto wait_for = [&](int64_t id, const std::function<bool(const RolloutRecord&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    for (;;) {
      auto r = GetRollout(db, id);
      EXPECT_TRUE(r.ok());
      if (!r.ok() || done(*r)) return r.ok() ? *r : RolloutRecord{};
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "rollout " << id << " still " << r->status << ": " << r->message << "\n"
                      << RolloutJson(db, id)->dump(2);
        return *r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };

  // v2: the canary (one device), then all; each device runs it as a shadow beside v1
  // first (the same model: it agrees everywhere).
  RolloutRequest rq;
  rq.deploy = q;
  rq.deploy.timeout_ms = 30000;
  rq.canary_count = 1;
  rq.stages = {100};
  rq.shadow = true;
  rq.conditions.shadow_samples = 3;
  rq.parallel = 2;  // the second stage's two devices staged and installed in one wave
  auto v2 = CreateRollout(*ws, rq, quiet);
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  const nlohmann::json plan = nlohmann::json::parse(v2->plan);
  EXPECT_EQ(plan["stages"], nlohmann::json::array({1, 3}));
  EXPECT_EQ(plan["parallel"], 2);
  ASSERT_TRUE(plan["predicted_ticks"].contains("cortex-m4")) << plan.dump();
  // A second rollout for devices that are in one is refused.
  auto twice = CreateRollout(*ws, rq, quiet);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("is in rollout"), std::string::npos);

  Loop first;
  start_loop(first);
  wait_for(v2->id, [](const RolloutRecord& r) { return r.stage >= 1 || r.status != "running"; });
  // Once the canary passed, the broker restarts: the agent goes on sensing while it is
  // away, keeps what its devices said and sends it once it is back.
  int64_t down_ms = 0, up_ms = 0;
  ASSERT_TRUE((*broker)
                  ->Restart([&] {
                    down_ms = NowMs();
                    const int handled = (*agent)->commands_handled();
                    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
                    while ((*agent)->commands_handled() < handled + 6 &&
                           std::chrono::steady_clock::now() < until)
                      std::this_thread::sleep_for(std::chrono::milliseconds(20));
                    up_ms = NowMs();
                  })
                  .ok());
  // The control plane is killed while the second stage is under way, started again.
  wait_for(v2->id, [&](const RolloutRecord& r) {
    if (r.status != "running") return true;
    for (const RolloutDeviceRecord& m : RolloutDevices(db, v2->id).value())
      if (m.stage == 1 && m.status != "pending") return true;
    return false;
  });
  stop_loop(first);
  Loop second;
  start_loop(second);
  const RolloutRecord done =
      wait_for(v2->id, [](const RolloutRecord& r) { return r.status != "running"; });
  EXPECT_EQ(done.status, "done") << done.message;
  auto members = RolloutDevices(db, v2->id);
  ASSERT_EQ(members->size(), 3u);
  bool buffered = false;
  for (const RolloutDeviceRecord& m : *members) {
    EXPECT_EQ(m.status, "healthy") << m.device << ": " << m.message;
    int sent = 0;  // no device updated twice
    for (const DeploymentRecord& d : db.ListDeployments(m.device).value()) sent += d.version == 2;
    EXPECT_EQ(sent, 1) << m.device;
    // Its shadow stage, judged before activation.
    const auto shadow = nlohmann::json::parse(m.shadow.empty() ? "{}" : m.shadow);
    EXPECT_TRUE(shadow.value("passed", false)) << m.device << ": " << m.shadow;
    EXPECT_GE(shadow.value("samples", 0), 3) << m.shadow;
    EXPECT_EQ(shadow.value("agreement", 0.0), 1.0) << m.shadow;
    EXPECT_EQ(shadow.value("against_version", 0), 1) << m.shadow;
    // Stored once: the per-minute counts are the raw records', redeliveries and the
    // flush after the broker's restart included.
    auto raw = RecentTelemetry(db, m.device, "telemetry", 100000);
    ASSERT_TRUE(raw.ok());
    for (const TelemetryRecord& t : *raw) buffered |= t.sent_ms > down_ms && t.sent_ms < up_ms;
    auto all_minutes = FindTelemetryMinutes(db, {m.device, "", 0, 0, -1});
    int64_t counted = 0;
    for (const auto& t : *all_minutes) counted += t.inferences;
    EXPECT_EQ(counted, static_cast<int64_t>(raw->size())) << m.device;
  }
  EXPECT_TRUE(buffered) << "no telemetry from while the broker was away";
  EXPECT_EQ((*members)[0].stage, 0);
  EXPECT_EQ((*members)[1].stage, 1);
  // What the devices reported is stored: per minute, on version 2, with their ticks
  // against the profile's prediction.
  auto minutes = FindTelemetryMinutes(db, {"ro-2", "", 0, 0, 2});
  ASSERT_TRUE(minutes.ok() && !minutes->empty());
  TelemetryMinute sum;
  for (const auto& m : *minutes) sum.Merge(m);
  EXPECT_GE(sum.inferences, 3);
  const double ratio = static_cast<double>(sum.ticks_sum) / static_cast<double>(sum.inferences) /
                       plan["predicted_ticks"]["cortex-m4"].get<double>();
  std::cout << "device ticks / profile prediction: " << ratio << "\n";
  EXPECT_GT(ratio, 1.0);  // the package runtime's overhead over the compiled code
  EXPECT_LT(ratio, 3.0);

  // v3 held to an impossible latency: the canary fails its judgement, the rollout halts
  // and rolls it back; the others never get v3.
  rq.conditions.max_latency_ratio = 0.01;
  rq.rollback_on_halt = true;
  rq.deploy.version = 3;
  auto v3 = CreateRollout(*ws, rq, quiet);
  ASSERT_TRUE(v3.ok()) << v3.status().message();
  const RolloutRecord back = wait_for(v3->id, [](const RolloutRecord& r) {
    return r.status == "rolled_back" || r.status == "done" || r.status == "halted";
  });
  EXPECT_EQ(back.status, "rolled_back") << back.message;
  EXPECT_NE(back.message.find("latency"), std::string::npos) << RolloutJson(db, v3->id)->dump(2);
  stop_loop(second);
  auto m3 = RolloutDevices(db, v3->id);
  EXPECT_EQ((*m3)[0].status, "rolled_back") << (*m3)[0].message;
  EXPECT_EQ((*m3)[1].status, "pending");
  ASSERT_TRUE(SyncRegistry(*ws, q.broker).ok());
  for (const char* id : {"ro-1", "ro-2", "ro-3"}) {
    const auto hello = nlohmann::json::parse(db.GetDevice(id)->capabilities);
    const size_t a = hello["active_slot"].get<size_t>();
    EXPECT_EQ(hello["slots"][a]["version"], 2) << id;
  }
  EXPECT_FALSE(ControlRollout(db, v3->id, "resume").ok());  // rolled back: over

  // v4 answers otherwise (its filters negated): in its shadow stage the canary's
  // answers disagree with v2's, so it fails without ever serving v4, and the rollout
  // halts and rolls back on its own.
  Graph flipped = conv;
  for (Tensor& t : flipped.tensors)
    if (t.is_const && t.dtype == DType::kInt8)
      for (uint8_t& b : t.data)
        b = static_cast<uint8_t>(static_cast<int8_t>(-std::max<int>(-127, static_cast<int8_t>(b))));
  const std::string model4 = root + "/one_conv_flipped.onnx";
  ASSERT_TRUE(SaveOnnx(flipped, model4).ok());
  rq.deploy.model = model4;
  rq.deploy.version = 4;
  rq.conditions.max_latency_ratio = 3.0;
  Loop third;
  start_loop(third);
  auto v4 = CreateRollout(*ws, rq, quiet);
  ASSERT_TRUE(v4.ok()) << v4.status().message();
  const RolloutRecord shadow_back = wait_for(v4->id, [](const RolloutRecord& r) {
    return r.status == "rolled_back" || r.status == "done" || r.status == "halted";
  });
  EXPECT_EQ(shadow_back.status, "rolled_back") << shadow_back.message;
  EXPECT_NE(shadow_back.message.find("shadow: agrees with version 2 on"), std::string::npos)
      << RolloutJson(db, v4->id)->dump(2);
  auto m4 = RolloutDevices(db, v4->id);
  EXPECT_EQ((*m4)[0].status, "failed") << (*m4)[0].message;
  EXPECT_FALSE(nlohmann::json::parse((*m4)[0].shadow).value("passed", true));
  EXPECT_EQ((*m4)[1].status, "pending");
  for (const char* id : {"ro-1", "ro-2", "ro-3"})
    for (const DeploymentRecord& d : db.ListDeployments(id).value()) EXPECT_NE(d.version, 4) << id;
  ASSERT_TRUE(SyncRegistry(*ws, q.broker).ok());
  const auto canary = nlohmann::json::parse(db.GetDevice((*m4)[0].device)->capabilities);
  EXPECT_EQ(canary["slots"][canary["active_slot"].get<size_t>()]["version"], 2);

  // v5 fails its self-test on the device (sent past the host's checks): its shadow
  // never starts, the canary fails, the stage halts.
  const std::string broken = root + "/broken_selftest.tmlp";
  {
    const auto bytes = FailingSelfTest(conv, 5);
    std::ofstream(broken, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  rq.deploy.model = broken;
  rq.deploy.version = 5;
  rq.deploy.host_checks = false;
  rq.rollback_on_halt = false;
  auto v5 = CreateRollout(*ws, rq, quiet);
  ASSERT_TRUE(v5.ok()) << v5.status().message();
  const RolloutRecord refused =
      wait_for(v5->id, [](const RolloutRecord& r) { return r.status != "running"; });
  stop_loop(third);
  EXPECT_EQ(refused.status, "halted") << refused.message;
  EXPECT_NE(refused.message.find("selftest"), std::string::npos)
      << RolloutJson(db, v5->id)->dump(2);
  EXPECT_EQ(RolloutDevices(db, v5->id)->at(1).status, "pending");

  // What the devices see becomes a dataset version: every sensed input (the sensor
  // replays 4), labeled by the model with its confidence, traced to devices and model.
  CaptureRequest cq;
  cq.group = "fleet";
  cq.dataset = "captured";
  cq.count = 4;
  cq.label_by_model = true;
  cq.broker = q.broker;
  auto cap = Capture(*ws, cq, quiet);
  ASSERT_TRUE(cap.ok()) << cap.status().message();
  EXPECT_EQ(cap->report.added, 4);
  EXPECT_EQ(cap->report.duplicates, 8);
  ASSERT_EQ(cap->per_device.size(), 3u);
  EXPECT_EQ(cap->per_device[0].second, 4);
  auto captured = db.Members(cap->report.version.id);
  ASSERT_EQ(captured->size(), 4u);
  auto sample = db.GetSample((*captured)[0].sample);
  EXPECT_EQ(sample->source.rfind("device:ro-", 0), 0u) << sample->source;
  EXPECT_EQ(sample->dtype, "float32");
  auto notes = db.Annotations((*captured)[0].sample);
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ((*notes)[0].author, "model:" + v1->model_artifact);
  EXPECT_FALSE((*captured)[0].label.empty());
  auto parents = db.ArtifactEdges(cap->version_artifact, true);
  ASSERT_TRUE(parents.ok());
  for (const std::string& p : {std::string("device:ro-1"), v1->model_artifact})
    EXPECT_NE(std::find(parents->begin(), parents->end(), p), parents->end()) << p;
}

TEST_F(DeviceTest, CortexM7AndM3DevicesRunTheSamePackagesBitExact) {
  for (const char* target : {"cortex-m7", "cortex-m3"}) {
    auto p = FindTarget(target);
    ASSERT_TRUE(p.ok());
    DeviceImageOptions o;
    o.signing_key_header = keys_->c_header;
    o.flash_bytes = 1 << 20;
    auto img = BuildDeviceImage(*p, *dir_ + "/image-" + target, o);
    ASSERT_TRUE(img.ok()) << img.status().message();
    auto dev = StartDevice(std::string("dev-") + target, 0, &*img);
    auto link = Link(*dev);
    ASSERT_TRUE(link);
    auto h = link->Hello();
    EXPECT_STREQ(h->core, target);
    EXPECT_EQ((h->isa & TML_ISA_DSP) != 0, std::string(target) == "cortex-m7") << target;
    EXPECT_EQ(h->ram_bytes, static_cast<uint32_t>(p->ram_bytes));
    SCOPED_TRACE(target);
    Deploy(*link, *models_[1]);
    ExpectRuns(*link, *models_[1], 31);
    ExpectRuns(*link, *models_[1], 32);
  }
}

// An update cut by a power loss at every one of its flash operations in turn: after
// each, the device boots into a valid model, the old or the new one, never none.
TEST_F(DeviceTest, PowerCutsAtEveryFlashOperationLeaveAValidModel) {
  const Graph g = OneConv();
  std::unique_ptr<Model> old_model(Sign(g, 1, keys_->private_key));
  Graph g2 = g;
  for (Tensor& t : g2.tensors)
    if (t.is_const && t.dtype == DType::kInt8)
      for (auto& b : t.data) b = static_cast<uint8_t>(b ^ 0x11);
  std::unique_ptr<Model> new_model(Sign(g2, 2, keys_->private_key));
  // The starting point: the old model active and confirmed.
  const std::string base = *dir_ + "/cut-base.flash";
  {
    EmulatedDeviceOptions o;
    o.id = "cut";
    o.flash_path = base;
    auto d = EmulatedDevice::Start(*image_, o);
    ASSERT_TRUE(d.ok());
    auto link = Link(**d);
    ASSERT_TRUE(link);
    Deploy(*link, *old_model);
    ASSERT_TRUE(link->Confirm().ok());
  }
  int cuts = 0, saw_new = 0;
  for (uint32_t op = 1; op < 200; ++op) {
    const std::string flash = *dir_ + "/cut.flash";
    fs::copy_file(base, flash, fs::copy_options::overwrite_existing);
    EmulatedDeviceOptions o;
    o.id = "cut";
    o.flash_path = flash;
    o.cut_at = op + 1;  // the boot's own journal write is operation 1
    auto d = EmulatedDevice::Start(*image_, o);
    ASSERT_TRUE(d.ok());
    auto link = Link(**d);
    ASSERT_TRUE(link);
    Status s = link->SendPackage(new_model->package);
    if (s.ok()) s = link->Activate();
    if (s.ok()) s = link->Infer(Input(g, 1)).status();
    if (s.ok()) s = link->Confirm();
    const int code = (*d)->WaitExit(s.ok() ? 0 : 20000);
    if (s.ok() && code < 0) {  // the whole update finished before operation op: it stays
      (*d)->Kill();
      o.cut_at = 0;
      auto after = EmulatedDevice::Start(*image_, o);
      ASSERT_TRUE(after.ok());
      auto l3 = Link(**after);
      ASSERT_TRUE(l3);
      auto h = l3->Hello();
      ASSERT_NE(h->active_slot, 0xFFFFFFFFu);
      EXPECT_EQ(h->slots[h->active_slot].version, 2u);
      ExpectRuns(*l3, *new_model, 99);
      saw_new = 1;
      break;
    }
    ASSERT_EQ(code, 75) << "op " << op << ": " << s.message() << "\n" << (*d)->process().Log();
    ++cuts;
    // Power back: a valid model, old or new, answers as it should.
    ASSERT_NE(PowerBack(o, *old_model, *new_model, op, "a cut at operation " + std::to_string(op)),
              0u);
  }
  EXPECT_GT(cuts, 5);
  EXPECT_EQ(saw_new, 1);  // and uncut, the update holds
}

// Random power cuts through one larger update (the keyword model, v1 -> v2, 36 KB, about
// 90 flash operations): the device is cut at a random (seeded) flash operation, powered
// back, checked (a valid model, old or new, bit-exact), and the update resumed on the
// same flash from its last checkpoint, until it holds.
TEST_F(DeviceTest, RandomPowerCutsThroughALargeUpdateLeaveAValidModel) {
  const std::string flash = *dir_ + "/random-cuts.flash";
  {
    auto d = StartDevice("random-cuts");
    auto link = Link(*d);
    ASSERT_TRUE(link);
    Deploy(*link, *models_[1]);
    ASSERT_TRUE(link->Confirm().ok());
  }
  std::mt19937 rng(20261203);
  int cuts = 0;
  size_t resumed_at = 0;
  bool done = false;
  for (int round = 0; round < 16 && !done; ++round) {
    EmulatedDeviceOptions o;
    o.id = "random-cuts";
    o.flash_path = flash;
    o.cut_at = 2 + rng() % 85;
    auto d = EmulatedDevice::Start(*image_, o);
    ASSERT_TRUE(d.ok());
    auto link = Link(**d);
    ASSERT_TRUE(link);
    size_t calls = 0;
    Status s = link->SendPackage(models_[2]->package, [&](size_t at, size_t) {
      if (calls++ == 0) resumed_at = std::max(resumed_at, at);  // where the device starts
    });
    if (s.ok()) s = link->Activate();
    if (s.ok()) s = link->Confirm();
    if (s.ok()) {
      done = true;
      (*d)->Kill();
    } else {
      ASSERT_EQ((*d)->WaitExit(20000), 75) << "cut at " << o.cut_at << ": " << s.message();
      ++cuts;
    }
    const uint32_t v = PowerBack(o, *models_[1], *models_[2], 100 + static_cast<uint64_t>(round),
                                 "round " + std::to_string(round));
    ASSERT_NE(v, 0u);
    if (done) EXPECT_EQ(v, 2u);
  }
  EXPECT_TRUE(done) << "the update never completed";
  EXPECT_GE(cuts, 2);
  EXPECT_GT(resumed_at, 0u) << "every round started the transfer from the beginning";
}

// A model cut in three runs over the fleet path: its first part on an emulated M4 behind
// a gateway agent, the second on the gateway's own device, the last in this process; the
// cut tensors travel as infer commands and results over MQTT and the device protocol.
TEST_F(DeviceTest, ASplitModelRunsOverTheFleetPathBitExact) {
  auto broker = testing::MqttBroker::Start(*dir_ + "/split-broker");
  ASSERT_TRUE(broker.ok()) << broker.status().message();
  auto m4 = StartDevice("split-m4");
  auto point = LoadPublicKey(keys_->public_key);
  ASSERT_TRUE(point.ok());
  AgentOptions ao;
  ao.id = "gw-split";
  ao.broker_port = (*broker)->port();
  ao.devices = {m4->address()};
  ao.host.id = "gw-split-host";
  ao.host.dir = *dir_ + "/gw-split-host";
  ao.host.trusted_key = *point;
  auto agent = Agent::Start(ao);
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  auto ws = OpenWorkspace(testing::EmptyWorkDir("split-ws"));
  ASSERT_TRUE(ws.ok());
  const DeployRequest base = Request((*broker)->port());
  ASSERT_TRUE(SyncRegistry(*ws, base.broker).ok());

  GraphBuilder b("mlp_split", 7);
  int x = b.Input("x", DType::kFloat32, {1, 32});
  x = b.Dense(x, 24, Act::kRelu);
  x = b.Dense(x, 8, Act::kRelu);  // the narrow tensor a cut after layer 2 sends
  x = b.Dense(x, 16, Act::kRelu);
  b.Output(b.Softmax(b.Dense(x, 4)));
  auto f = b.Finish();
  ASSERT_TRUE(f.ok());
  auto g = zoo::QuantizeSynthetic(*f, 7);
  ASSERT_TRUE(g.ok()) << g.status().message();
  SplitRunRequest q;
  q.model = ws->root + "/mlp_split.onnx";
  ASSERT_TRUE(SaveOnnx(*g, q.model).ok());
  q.chain = ws->root + "/chain.yaml";
  std::ofstream(q.chain) << "nodes:\n  - {name: mcu, target: cortex-m4}\n"
                            "  - {name: gateway, host: {time_scale: 4}}\n"
                            "  - {name: cloud, host: {}}\n"
                            "links:\n  - {profile: ble-1m}\n  - {profile: ethernet}\n";
  q.devices = {"split-m4", "gw-split-host", ""};
  const int layers = static_cast<int>(g->nodes.size());
  ASSERT_GE(layers, 5);
  q.layers = {2, 1, layers - 3};
  q.broker = base.broker;
  q.signing_key = base.signing_key;
  q.samples = 3;
  Progress quiet;
  auto r = RunSplitOnFleet(*ws, q, quiet);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->bit_exact) << r->first_difference;
  EXPECT_EQ(r->samples, 3);
  ASSERT_EQ(r->runs_on.size(), 3u);
  EXPECT_EQ(r->runs_on[0], "mcu: device split-m4");
  EXPECT_EQ(r->runs_on[1], "gateway: device gw-split-host");
  EXPECT_EQ(r->runs_on[2], "cloud: this process");
  for (int k = 0; k < 3; ++k) {
    EXPECT_GT(r->latency_ms[static_cast<size_t>(k)], 0);
    EXPECT_EQ(r->part_ms[static_cast<size_t>(k)].size(), 3u);
  }
  EXPECT_EQ(r->cut.layers, (std::vector<int>{2, 1, layers - 3}));
  EXPECT_NE(SplitRunText(*r).find("bit-exact"), std::string::npos);
  // The devices now run their parts: the registry says so.
  ASSERT_TRUE(SyncRegistry(*ws, base.broker).ok());
  auto caps = nlohmann::json::parse(ws->db->GetDevice("split-m4")->capabilities);
  EXPECT_GE(caps["confirmed_version"].get<int>(), 1) << caps.dump();
  // A part that would take two tensors is refused before anything is sent.
  q.layers = {2, 1};
  auto bad = RunSplitOnFleet(*ws, q, quiet);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--layers gives 2 counts for 3 nodes"), std::string::npos)
      << bad.status().message();
  (*agent)->Stop();
}

}  // namespace
}  // namespace tml
