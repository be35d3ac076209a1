// SHA-256 against the FIPS 180-4 example vectors and incremental updates.
#include "core/sha256.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/file_hash_cache.h"
#include "fixtures.h"

namespace tml {
namespace {

TEST(Sha256, FipsExamples) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (size_t cut : {0, 1, 55, 56, 63, 64, 65, 127, 500, 1000}) {
    Sha256 h;
    h.Update(data.substr(0, cut));
    h.Update(data.substr(cut));
    EXPECT_EQ(h.HexDigest(), Sha256Hex(data)) << cut;
  }
}

// File hashes are remembered by path, size and modification time: an unchanged file
// is not read again, a changed one is.
TEST(FileHashCache, RemembersUnchangedFilesAndNoticesChanges) {
  const std::string dir = testing::WorkDir("file_hash_cache");
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/data.bin", cache = dir + "/cache/hashes.tsv";
  std::ofstream(file) << "first";
  {
    FileHashCache h(cache);
    auto a = h.Sha256(file);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, Sha256Hex(std::string("first")));
    ASSERT_TRUE(h.Save().ok());
  }
  ASSERT_TRUE(std::filesystem::exists(cache));
  // A cached entry is trusted while size and mtime agree: forge one to prove it is used.
  std::string text;
  {
    std::ifstream in(cache);
    std::getline(in, text);
  }
  const std::string forged = std::string(64, 'a') + text.substr(64);
  std::ofstream(cache) << forged << "\nnot a valid line\n";
  {
    FileHashCache h(cache);
    EXPECT_EQ(*h.Sha256(file), std::string(64, 'a')) << "the cache was not used";
    // Same size, new content and a new mtime: hashed again.
    std::ofstream(file) << "other";
    const auto later = std::filesystem::last_write_time(file) + std::chrono::seconds(5);
    std::filesystem::last_write_time(file, later);
    EXPECT_EQ(*h.Sha256(file), Sha256Hex(std::string("other")));
  }
  FileHashCache h(cache);
  EXPECT_FALSE(h.Sha256(dir + "/missing.bin").ok());
}

}  // namespace
}  // namespace tml
