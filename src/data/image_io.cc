#include "data/image_io.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

namespace tml {
namespace {

Result<Image> ReadPng(const std::string& path, int64_t max_pixels) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str()))
    return Status::Errorf("{}: not a readable PNG: {}", path, img.message);
  const bool colour = (img.format & PNG_FORMAT_FLAG_COLOR) != 0;
  if (static_cast<int64_t>(img.width) * img.height > max_pixels) {
    png_image_free(&img);
    return Status::Errorf("{}: {}x{} pixels is more than the limit of {}", path, img.width,
                          img.height, max_pixels);
  }
  img.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;  // alpha composited on black
  Image out;
  out.width = static_cast<int>(img.width);
  out.height = static_cast<int>(img.height);
  out.channels = colour ? 3 : 1;
  out.pixels.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.pixels.data(), 0, nullptr)) {
    Status st = Status::Errorf("{}: corrupt PNG: {}", path, img.message);
    png_image_free(&img);
    return st;
  }
  return out;
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void JpegErrorExit(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  cinfo->err->format_message(cinfo, e->message);
  std::longjmp(e->jump, 1);  // libjpeg would otherwise exit the process
}

// Warnings (level -1) mean corrupt or truncated data that libjpeg papered over:
// keep the first message; ReadJpeg turns it into an error.
void JpegWarning(j_common_ptr cinfo, int level) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  if (level < 0 && e->mgr.num_warnings++ == 0) cinfo->err->format_message(cinfo, e->message);
}

Result<Image> ReadJpeg(const std::string& path, int64_t max_pixels) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Status::Errorf("{}: cannot open", path);
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = JpegErrorExit;
  err.mgr.emit_message = JpegWarning;
  Image out;  // declared before setjmp: no destructors are skipped by the jump
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return Status::Errorf("{}: corrupt JPEG: {}", path, err.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f.get());
  jpeg_read_header(&cinfo, TRUE);
  if (static_cast<int64_t>(cinfo.image_width) * cinfo.image_height > max_pixels) {
    jpeg_destroy_decompress(&cinfo);
    return Status::Errorf("{}: {}x{} pixels is more than the limit of {}", path, cinfo.image_width,
                          cinfo.image_height, max_pixels);
  }
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  out.width = static_cast<int>(cinfo.output_width);
  out.height = static_cast<int>(cinfo.output_height);
  out.channels = cinfo.output_components;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * out.channels);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row =
        out.pixels.data() + static_cast<size_t>(cinfo.output_scanline) * out.width * out.channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.mgr.num_warnings > 0) return Status::Errorf("{}: corrupt JPEG: {}", path, err.message);
  return out;
}

}  // namespace

Result<Image> ReadImage(const std::string& path, int64_t max_pixels) {
  unsigned char head[8] = {0};
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::Errorf("{}: cannot open", path);
    f.read(reinterpret_cast<char*>(head), sizeof head);
  }
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (std::memcmp(head, kPng, 8) == 0) return ReadPng(path, max_pixels);
  if (head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return ReadJpeg(path, max_pixels);
  return Status::Errorf("{}: neither PNG nor JPEG (unknown signature)", path);
}

Status WritePng(const std::string& path, const Image& im) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(im.width);
  img.height = static_cast<png_uint_32>(im.height);
  img.format = im.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  if (!png_image_write_to_file(&img, path.c_str(), 0, im.pixels.data(), 0, nullptr))
    return Status::Errorf("{}: cannot write PNG: {}", path, img.message);
  return Status::Ok();
}

Image ToChannels(const Image& im, int channels) {
  if (im.channels == channels) return im;
  Image out{im.width, im.height, channels, {}};
  const size_t n = static_cast<size_t>(im.width) * im.height;
  out.pixels.resize(n * static_cast<size_t>(channels));
  for (size_t i = 0; i < n; ++i) {
    if (channels == 1) {
      const uint8_t* p = &im.pixels[3 * i];
      out.pixels[i] = static_cast<uint8_t>((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
    } else {
      out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = im.pixels[i];
    }
  }
  return out;
}

namespace {

// Averages f x f boxes (f >= 1), so that a following bilinear step never skips pixels.
Image BoxShrink(const Image& im, int fx, int fy) {
  Image out{im.width / fx, im.height / fy, im.channels, {}};
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * im.channels);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < im.channels; ++c) {
        int sum = 0;
        for (int dy = 0; dy < fy; ++dy)
          for (int dx = 0; dx < fx; ++dx)
            sum += im.pixels[(static_cast<size_t>(y * fy + dy) * im.width + x * fx + dx) *
                                 im.channels +
                             c];
        out.pixels[(static_cast<size_t>(y) * out.width + x) * im.channels + c] =
            static_cast<uint8_t>((sum + fx * fy / 2) / (fx * fy));
      }
  return out;
}

}  // namespace

Image ResizeImage(const Image& src, int width, int height) {
  if (src.width == width && src.height == height) return src;
  const int fx = std::max(1, src.width / (2 * width)), fy = std::max(1, src.height / (2 * height));
  const Image im = fx > 1 || fy > 1 ? BoxShrink(src, fx, fy) : src;
  Image out{width, height, im.channels, {}};
  out.pixels.resize(static_cast<size_t>(width) * height * im.channels);
  const double sx = static_cast<double>(im.width) / width,
               sy = static_cast<double>(im.height) / height;
  for (int y = 0; y < height; ++y) {
    const double fy0 = std::clamp((y + 0.5) * sy - 0.5, 0.0, im.height - 1.0);
    const int y0 = static_cast<int>(fy0), y1 = std::min(y0 + 1, im.height - 1);
    const double wy = fy0 - y0;
    for (int x = 0; x < width; ++x) {
      const double fx0 = std::clamp((x + 0.5) * sx - 0.5, 0.0, im.width - 1.0);
      const int x0 = static_cast<int>(fx0), x1 = std::min(x0 + 1, im.width - 1);
      const double wx = fx0 - x0;
      for (int c = 0; c < im.channels; ++c) {
        const auto at = [&](int yy, int xx) {
          return im.pixels[(static_cast<size_t>(yy) * im.width + xx) * im.channels + c];
        };
        const double v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) +
                         wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        out.pixels[(static_cast<size_t>(y) * width + x) * im.channels + c] =
            static_cast<uint8_t>(v + 0.5);
      }
    }
  }
  return out;
}

}  // namespace tml
