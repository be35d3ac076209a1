// The device protocol's framing (runtime/protocol/tml_proto.c) as both ends use it.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "fleet/listen.h"
#include "tml_proto.h"

namespace {

std::vector<uint8_t> Frame(uint8_t type, uint16_t seq, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out(TML_PROTO_MAX_FRAME);
  const uint32_t n = tml_proto_encode(out.data(), static_cast<uint32_t>(out.size()), type, seq,
                                      payload.data(), static_cast<uint32_t>(payload.size()));
  out.resize(n);
  return out;
}

struct Event {
  tml_rx_event kind;
  uint8_t type = 0;
  uint16_t seq = 0, error = 0;
  std::vector<uint8_t> payload;
};

std::vector<Event> Feed(tml_proto_rx& rx, const std::vector<uint8_t>& bytes) {
  std::vector<Event> ev;
  for (uint8_t b : bytes) {
    const tml_rx_event e = tml_proto_rx_byte(&rx, b);
    if (e == TML_RX_FRAME)
      ev.push_back({e, rx.type, rx.seq, 0, {rx.payload, rx.payload + rx.length}});
    else if (e == TML_RX_ERROR)
      ev.push_back({e, 0, rx.error_seq, rx.error, {}});
  }
  return ev;
}

TEST(DeviceProtocol, FramesRoundTripThroughNoiseAndSplits) {
  tml_proto_rx rx;
  tml_proto_rx_init(&rx);
  std::vector<uint8_t> payload(1000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> stream = {0x00, 0xA5, 0x13, 0x5A, 0xA5};  // noise, a false start
  for (uint16_t s = 1; s <= 3; ++s) {
    auto f = Frame(TML_MSG_XFER_CHUNK, s, payload);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  auto ev = Feed(rx, stream);
  ASSERT_EQ(ev.size(), 3u);
  for (uint16_t s = 0; s < 3; ++s) {
    EXPECT_EQ(ev[s].kind, TML_RX_FRAME);
    EXPECT_EQ(ev[s].seq, s + 1);
    EXPECT_EQ(ev[s].type, TML_MSG_XFER_CHUNK);
    EXPECT_EQ(ev[s].payload, payload);
  }
  // An empty payload, and a frame cut short: nothing until the rest arrives.
  auto hello = Frame(TML_MSG_HELLO, 9, {});
  EXPECT_EQ(hello.size(), TML_PROTO_OVERHEAD);
  EXPECT_TRUE(Feed(rx, {hello.begin(), hello.end() - 1}).empty());
  ev = Feed(rx, {hello.back()});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].seq, 9);
}

TEST(DeviceProtocol, DamagedFramesAreReportedAndTheNextOneIsRead) {
  tml_proto_rx rx;
  tml_proto_rx_init(&rx);
  auto good = Frame(TML_MSG_INFER, 5, {1, 2, 3, 4});
  auto bad_crc = good;
  bad_crc[9] ^= 1;
  auto bad_version = good;
  bad_version[2] = 7;
  auto oversize = good;
  oversize[6] = 0xFF;
  oversize[7] = 0xFF;
  std::vector<uint8_t> stream;
  for (auto* f : {&bad_crc, &bad_version, &oversize, &good})
    stream.insert(stream.end(), f->begin(), f->end());
  auto ev = Feed(rx, stream);
  ASSERT_GE(ev.size(), 4u);
  EXPECT_EQ(ev[0].kind, TML_RX_ERROR);
  EXPECT_EQ(ev[0].error, TML_E_CRC);
  EXPECT_EQ(ev[0].seq, 5);  // the damaged frame's seq, for the error reply
  EXPECT_EQ(ev[1].error, TML_E_VERSION);
  EXPECT_EQ(ev[2].error, TML_E_OVERSIZE);
  EXPECT_EQ(ev.back().kind, TML_RX_FRAME);
  EXPECT_EQ(ev.back().payload, (std::vector<uint8_t>{1, 2, 3, 4}));
  // Encoding refuses what cannot be a frame.
  std::vector<uint8_t> big(TML_PROTO_MAX_PAYLOAD + 1), out(TML_PROTO_MAX_FRAME + 16);
  EXPECT_EQ(tml_proto_encode(out.data(), static_cast<uint32_t>(out.size()), 1, 1, big.data(),
                             static_cast<uint32_t>(big.size())),
            0u);
  EXPECT_EQ(tml_proto_encode(out.data(), 11, 1, 1, nullptr, 0), 0u);
}

// Every single-bit change of a frame is caught (CRC-32 detects all of them), and a
// valid frame after it is still read.
TEST(DeviceProtocol, EveryBitFlipIsDetected) {
  const auto good = Frame(TML_MSG_XFER_BEGIN, 77, std::vector<uint8_t>(40, 0x3C));
  for (size_t i = 0; i < good.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      tml_proto_rx rx;
      tml_proto_rx_init(&rx);
      auto f = good;
      f[i] ^= static_cast<uint8_t>(1 << bit);
      auto ev = Feed(rx, f);
      for (const auto& e : ev) EXPECT_NE(e.kind, TML_RX_FRAME) << "byte " << i << " bit " << bit;
      // Whatever state the damage left, at most one maximal frame of bytes later the
      // receiver is back in step.
      std::vector<uint8_t> tail(TML_PROTO_MAX_FRAME, 0);
      Feed(rx, tail);
      ev = Feed(rx, good);
      ASSERT_FALSE(ev.empty()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(ev.back().kind, TML_RX_FRAME) << "byte " << i << " bit " << bit;
    }
}

TEST(DeviceProtocol, RandomBytesNeverCrashTheReceiver) {
  std::mt19937 rng(3);
  tml_proto_rx rx;
  tml_proto_rx_init(&rx);
  int frames = 0;
  for (int i = 0; i < 200000; ++i) {
    // A5 5A appears often enough to start many frames.
    const uint8_t b = (rng() % 8 == 0) ? (i % 2 ? 0x5A : 0xA5) : static_cast<uint8_t>(rng());
    frames += tml_proto_rx_byte(&rx, b) == TML_RX_FRAME;
    EXPECT_LE(rx.have, sizeof rx.buf);
  }
  EXPECT_LT(frames, 3);
  EXPECT_EQ(tml_crc32(0, "123456789", 9), 0xCBF43926u);  // the CRC-32 check value
}

}  // namespace

namespace tml {
namespace {

TEST(ListenSettings, ParseFromTextAndJsonAndRefuseWhatIsOutOfRange) {
  auto s = ParseListenSpec("keywords=0-3,7,hop=5,threshold=0.5");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->keywords, 0x8Fu);
  EXPECT_EQ(s->hop, 5u);
  EXPECT_EQ(s->smooth, 3u);  // StreamOptions' defaults
  EXPECT_EQ(s->refractory, 8u);
  EXPECT_FLOAT_EQ(s->threshold, 0.5f);
  auto j = ListenFromJson(ListenJson(*s));
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ(std::memcmp(&*j, &*s, sizeof *s), 0);
  for (const auto& [spec, why] :
       std::vector<std::pair<std::string, std::string>>{{"hop=4", "keyword classes"},
                                                        {"keywords=0-40", "0..31"},
                                                        {"keywords=5-2", "backwards"},
                                                        {"keywords=1,hop=0", "hop"},
                                                        {"keywords=1,smooth=17", "smooth"},
                                                        {"keywords=1,threshold=1.5", "threshold"},
                                                        {"keywords=1,threshold=x", "not a number"},
                                                        {"keywords=1,loud=3", "unknown setting"},
                                                        {"keywords=one", "whole number"}}) {
    auto bad = ParseListenSpec(spec);
    ASSERT_FALSE(bad.ok()) << spec;
    EXPECT_NE(bad.status().message().find(why), std::string::npos) << bad.status().message();
  }
  for (const char* text : {R"("loud")", R"({"keywords": "0-3"})", R"({"keywords": [1], "hop": -1})",
                           R"({"keywords": [1], "volume": 2})", R"({"keywords": [1.5]})"})
    EXPECT_FALSE(ListenFromJson(nlohmann::json::parse(text)).ok()) << text;
}

}  // namespace
}  // namespace tml
