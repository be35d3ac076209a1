// Images for the dataset store: PNG (libpng) and JPEG (libjpeg) decoding to 8-bit
// HWC pixels, channel conversion and resizing.
//
//   TML_ASSIGN_OR_RETURN(Image im, ReadImage("cat.png"));
//   Image small = ResizeImage(ToChannels(im, 1), 28, 28);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

struct Image {
  int width = 0, height = 0, channels = 0;  // channels: 1 (grey) or 3 (RGB)
  std::vector<uint8_t> pixels;              // height x width x channels
};

// Decodes by content (PNG or JPEG signature), not by extension. Errors name the
// file and what is wrong; images above max_pixels are refused.
Result<Image> ReadImage(const std::string& path, int64_t max_pixels = int64_t{1} << 26);
Status WritePng(const std::string& path, const Image& im);
// Grey <-> RGB (grey = round(0.299 R + 0.587 G + 0.114 B)).
Image ToChannels(const Image& im, int channels);
// Bilinear with pixel centres aligned; when shrinking by more than 2x the source is
// first averaged over boxes so that no pixel is skipped.
Image ResizeImage(const Image& im, int width, int height);

}  // namespace tml
