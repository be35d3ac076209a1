// PNG / JPEG decoding, resizing, and the image-folder importer, on files the test
// writes itself; bad and mutated files must give errors naming the file, not crashes.
#include <gtest/gtest.h>
#include <jpeglib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/image_io.h"
#include "data/importers.h"
#include "fixtures.h"

namespace tml {
namespace {

namespace fs = std::filesystem;

Image Gradient(int w, int h, int c) {
  Image im{w, h, c, {}};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        im.pixels.push_back(static_cast<uint8_t>((x * 7 + y * 3 + k * 50) & 255));
  return im;
}

void WriteJpeg(const std::string& path, const Image& im) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = static_cast<JDIMENSION>(im.width);
  c.image_height = static_cast<JDIMENSION>(im.height);
  c.input_components = im.channels;
  c.in_color_space = im.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(im.pixels.data()) +
                   static_cast<size_t>(c.next_scanline) * im.width * im.channels;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

SampleFormat Fmt(int w, int h, int c) {
  SampleFormat f;
  f.width = w;
  f.height = h;
  f.channels = c;
  return f;
}

TEST(ImageIo, PngRoundTripsExactly) {
  const std::string d = testing::EmptyWorkDir("png");
  for (int c : {1, 3}) {
    const Image im = Gradient(13, 7, c);
    ASSERT_TRUE(WritePng(d + "/a.png", im).ok());
    auto back = ReadImage(d + "/a.png");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->width, 13);
    EXPECT_EQ(back->height, 7);
    EXPECT_EQ(back->channels, c);
    EXPECT_EQ(back->pixels, im.pixels);
  }
}

TEST(ImageIo, JpegDecodesCloseToTheOriginal) {
  const std::string d = testing::EmptyWorkDir("jpeg");
  Image im{16, 16, 3, std::vector<uint8_t>(16 * 16 * 3, 0)};
  for (size_t i = 0; i < im.pixels.size(); i += 3) im.pixels[i] = 200, im.pixels[i + 1] = 100;
  WriteJpeg(d + "/a.jpg", im);
  auto back = ReadImage(d + "/a.jpg");
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->pixels.size(), im.pixels.size());
  for (size_t i = 0; i < im.pixels.size(); ++i) EXPECT_NEAR(back->pixels[i], im.pixels[i], 6) << i;
}

TEST(ImageIo, ResizeAndChannels) {
  Image flat{40, 30, 1, std::vector<uint8_t>(40 * 30, 77)};
  const Image small = ResizeImage(flat, 7, 5);
  EXPECT_EQ(small.pixels, std::vector<uint8_t>(35, 77));
  const Image big = ResizeImage(Gradient(4, 4, 1), 8, 8);
  EXPECT_EQ(big.pixels.size(), 64u);
  EXPECT_EQ(big.pixels[0], 0);  // corners keep their values
  Image rgb{1, 1, 3, {255, 0, 0}};
  EXPECT_EQ(ToChannels(rgb, 1).pixels[0], 76);  // 0.299 * 255
  EXPECT_EQ(ToChannels(ToChannels(rgb, 1), 3).pixels, (std::vector<uint8_t>{76, 76, 76}));
}

TEST(ImageIo, BadFilesNameTheFile) {
  const std::string d = testing::EmptyWorkDir("badimg");
  { std::ofstream(d + "/text.png") << "hello, not an image at all"; }
  auto r = ReadImage(d + "/text.png");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("text.png"), std::string::npos);
  ASSERT_TRUE(WritePng(d + "/ok.png", Gradient(32, 32, 3)).ok());
  WriteJpeg(d + "/ok.jpg", Gradient(32, 32, 3));
  for (const char* name : {"ok.png", "ok.jpg"}) {
    std::ifstream in(d + "/" + name, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string cut = d + "/cut_" + name;
    { std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2); }
    auto c = ReadImage(cut);
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_NE(c.status().message().find("cut_"), std::string::npos) << c.status().message();
    // Mutations: any result is fine except a crash or a hang.
    std::mt19937 rng(1);
    for (int i = 0; i < 150; ++i) {
      std::string m = bytes;
      for (int k = 0; k < 4; ++k) m[rng() % m.size()] = static_cast<char>(rng());
      const std::string mp = d + "/mut_" + name;
      { std::ofstream(mp, std::ios::binary) << m; }
      auto res = ReadImage(mp);
      if (res.ok()) {
        EXPECT_EQ(res->pixels.size(),
                  static_cast<size_t>(res->width) * res->height * res->channels);
      }
    }
  }
}

TEST(ImageFolder, ImportsClassesResizedAndSkipsOtherFiles) {
  const std::string d = testing::EmptyWorkDir("folder");
  fs::create_directories(d + "/cat");
  fs::create_directories(d + "/dog");
  ASSERT_TRUE(WritePng(d + "/cat/1.png", Gradient(20, 10, 3)).ok());
  ASSERT_TRUE(WritePng(d + "/cat/2.PNG", Gradient(8, 8, 1)).ok());
  WriteJpeg(d + "/dog/1.jpeg", Gradient(30, 30, 3));
  { std::ofstream(d + "/dog/notes.txt") << "not an image"; }
  auto r = ReadClassFolders(d, Fmt(16, 12, 1), std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->classes, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(r->samples.size(), 3u);
  EXPECT_EQ(r->skipped, 1);
  for (const NewSample& s : r->samples) {
    EXPECT_EQ(s.shape, (std::vector<int64_t>{12, 16, 1}));
    EXPECT_EQ(s.bytes.size(), 12u * 16u);
  }
  EXPECT_EQ(r->samples[2].label, "dog");
  // A corrupt image in a class folder fails the whole read, naming it.
  { std::ofstream(d + "/dog/2.jpg") << "\xFF\xD8\xFF garbage"; }
  auto bad = ReadClassFolders(d, Fmt(16, 12, 1), std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("2.jpg"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(ReadClassFolders(d + "/missing", Fmt(16, 12, 1), std::nullopt).ok());
  EXPECT_FALSE(ReadClassFolders(d, Fmt(0, 12, 1), std::nullopt).ok());
}

}  // namespace
}  // namespace tml
