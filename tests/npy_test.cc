#include "formats/npy.h"

#include <gtest/gtest.h>

namespace tml {
namespace {

TEST(Npy, RoundTrip) {
  const float v[6] = {1, 2, 3, 4, 5, 6};
  auto bytes = WriteNpy(DType::kFloat32, {2, 3}, v, sizeof v);
  EXPECT_EQ((bytes.size() - sizeof v) % 64, 0u);
  auto a = ParseNpy(bytes, "x.npy");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->dtype, DType::kFloat32);
  EXPECT_EQ(a->shape, (Shape{2, 3}));
  EXPECT_EQ(a->data.size(), sizeof v);
  auto one = ParseNpy(WriteNpy(DType::kInt8, {5}, "abcde", 5), "y.npy");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->shape, (Shape{5}));
}

TEST(Npy, MalformedFilesGiveErrors) {
  EXPECT_FALSE(ParseNpy({1, 2, 3}, "a.npy").ok());
  const float v[2] = {1, 2};
  auto bytes = WriteNpy(DType::kFloat32, {2}, v, sizeof v);
  bytes.pop_back();
  auto r = ParseNpy(bytes, "short.npy");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("short.npy"), std::string::npos);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<uint8_t> c(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(ParseNpy(c, "cut.npy").ok());
  }
}

}  // namespace
}  // namespace tml
