// IDX reader: round trips (plain and gzip), hand-made typed files, every error
// path naming the file, mutation fuzzing, and Debian's Fashion-MNIST when present.
#include "data/idx.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "fixtures.h"

namespace tml {
namespace {

std::vector<uint8_t> Header(uint8_t type, std::vector<uint32_t> dims) {
  std::vector<uint8_t> h = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(d >> s));
  return h;
}

TEST(Idx, RoundTripsPlainAndGzip) {
  const std::string dir = testing::WorkDir("idx");
  std::filesystem::create_directories(dir);
  std::vector<uint8_t> v(2 * 3 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 7);
  for (const char* name : {"a-idx3-ubyte", "a-idx3-ubyte.gz"}) {
    const std::string path = dir + "/" + name;
    ASSERT_TRUE(WriteIdxU8(path, {2, 3, 5}, v).ok());
    auto a = ReadIdx(path);
    ASSERT_TRUE(a.ok()) << a.status().message();
    EXPECT_EQ(a->type, IdxType::kUInt8);
    EXPECT_EQ(a->dims, (std::vector<int64_t>{2, 3, 5}));
    EXPECT_EQ(a->bytes, v);
    EXPECT_EQ(a->count(), 30);
  }
  // The gzip file really is compressed (starts with the gzip magic).
  std::ifstream f(dir + "/a-idx3-ubyte.gz", std::ios::binary);
  unsigned char m[2] = {0, 0};
  f.read(reinterpret_cast<char*>(m), 2);
  EXPECT_EQ(m[0], 0x1f);
  EXPECT_EQ(m[1], 0x8b);
}

TEST(Idx, ParsesBigEndianTypes) {
  auto h = Header(0x0B, {3});  // int16: -2, 300, 7
  for (uint8_t b : {0xFF, 0xFE, 0x01, 0x2C, 0x00, 0x07}) h.push_back(b);
  auto a = ParseIdx(h.data(), h.size(), "s16");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->values, (std::vector<float>{-2.0f, 300.0f, 7.0f}));
  auto f = Header(0x0D, {1, 1});  // float32 1.5 = 0x3FC00000
  for (uint8_t b : {0x3F, 0xC0, 0x00, 0x00}) f.push_back(b);
  a = ParseIdx(f.data(), f.size(), "f32");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->values, (std::vector<float>{1.5f}));
}

void ExpectError(const std::vector<uint8_t>& bytes, const std::string& what) {
  auto a = ParseIdx(bytes.data(), bytes.size(), "bad.idx", 1000);
  ASSERT_FALSE(a.ok()) << what;
  EXPECT_NE(a.status().message().find("bad.idx"), std::string::npos) << a.status().message();
  EXPECT_NE(a.status().message().find(what), std::string::npos) << a.status().message();
}

TEST(Idx, ErrorsNameTheFileAndTheProblem) {
  ExpectError({1, 2}, "only 2 bytes");
  ExpectError({'P', 'K', 3, 4}, "not an IDX file");
  ExpectError(Header(0x42, {1}), "unknown IDX element type 0x42");
  ExpectError(Header(0x08, {}), "no dimensions");
  ExpectError({0, 0, 8, 3, 0, 0}, "truncated header");
  ExpectError(Header(0x08, {4, 0}), "dimension 1 is 0");
  ExpectError(Header(0x08, {100, 100}), "more than 1000 elements");
  auto h = Header(0x08, {2, 3});
  h.resize(h.size() + 5);
  ExpectError(h, "truncated: 6 elements need 6 bytes of data, found 5");
  h.resize(h.size() + 3);
  ExpectError(h, "2 unexpected bytes");
  auto missing = ReadIdx("/nonexistent/x-idx1-ubyte");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/x-idx1-ubyte"), std::string::npos);
}

TEST(Idx, MutatedFilesNeverCrash) {
  auto base = Header(0x08, {3, 4, 4});
  base.resize(base.size() + 48, 9);
  std::mt19937 rng(11);
  int ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> m = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % m.size();
      switch (rng() % 3) {
        case 0:
          m[at] = static_cast<uint8_t>(rng());
          break;
        case 1:
          m.resize(at);
          break;
        default:
          m.insert(m.begin() + static_cast<long>(at), static_cast<uint8_t>(rng()));
          break;
      }
      if (m.empty()) break;
    }
    auto a = ParseIdx(m.data(), m.size(), "mutant", 1 << 20);
    if (a.ok()) {
      ++ok;
      EXPECT_EQ(static_cast<size_t>(a->count()), a->bytes.size() + a->values.size());
    } else {
      EXPECT_FALSE(a.status().message().empty());
    }
  }
  EXPECT_GT(ok, 0);  // some mutations (payload bytes) stay valid
}

TEST(Idx, ReadsDebianFashionMnist) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto labels = ReadIdx(dir + "/t10k-labels-idx1-ubyte.gz");
  auto images = ReadIdx(dir + "/t10k-images-idx3-ubyte.gz");
  ASSERT_TRUE(labels.ok() && images.ok());
  EXPECT_EQ(labels->dims, (std::vector<int64_t>{10000}));
  EXPECT_EQ(images->dims, (std::vector<int64_t>{10000, 28, 28}));
  std::vector<int> per_class(10, 0);
  for (uint8_t l : labels->bytes) {
    ASSERT_LT(l, 10);
    ++per_class[l];
  }
  for (int c : per_class) EXPECT_EQ(c, 1000);  // the test split is balanced
}

}  // namespace
}  // namespace tml
