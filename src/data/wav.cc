// RIFF WAVE layout: "RIFF" size "WAVE", then chunks (4-byte id, 32-bit little-endian
// size, payload padded to an even size); "fmt " holds format tag, channels, rate,
// byte rate, block align, bits per sample (and for WAVE_FORMAT_EXTENSIBLE the
// subformat GUID, whose first two bytes are the real format tag); "data" the samples.
#include "data/wav.h"

#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace tml {
namespace {

uint32_t U32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint16_t U16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

}  // namespace

Result<Audio> ParseWav(const uint8_t* d, size_t n, const std::string& name, int64_t max_samples) {
  if (n < 12 || std::memcmp(d, "RIFF", 4) != 0 || std::memcmp(d + 8, "WAVE", 4) != 0)
    return Status::Errorf("{}: not a WAV file (no RIFF/WAVE header)", name);
  Audio a;
  int bits = 0, format = 0;
  bool have_fmt = false;
  size_t at = 12;
  while (at + 8 <= n) {
    const uint32_t size = U32(d + at + 4);
    const uint8_t* body = d + at + 8;
    if (size > n - at - 8)
      return Status::Errorf("{}: chunk '{}' at byte {} claims {} bytes, only {} remain", name,
                            std::string(reinterpret_cast<const char*>(d + at), 4), at, size,
                            n - at - 8);
    if (std::memcmp(d + at, "fmt ", 4) == 0) {
      if (size < 16) return Status::Errorf("{}: fmt chunk of {} bytes is too short", name, size);
      format = U16(body);
      a.channels = U16(body + 2);
      a.rate = static_cast<int>(U32(body + 4));
      bits = U16(body + 14);
      if (format == 0xFFFE && size >= 26) format = U16(body + 24);  // extensible: subformat
      have_fmt = true;
    } else if (std::memcmp(d + at, "data", 4) == 0) {
      if (!have_fmt) return Status::Errorf("{}: data chunk before the fmt chunk", name);
      if (format != 1 || bits != 16)
        return Status::Errorf("{}: format {} with {} bits per sample; only 16-bit PCM is supported",
                              name, format, bits);
      if (a.channels < 1 || a.channels > 16 || a.rate < 1000 || a.rate > 384000)
        return Status::Errorf("{}: {} channels at {} Hz is not a usable format", name, a.channels,
                              a.rate);
      const int64_t count = size / 2;
      if (count > max_samples)
        return Status::Errorf("{}: {} samples is more than the limit of {}", name, count,
                              max_samples);
      if (count % a.channels != 0)
        return Status::Errorf("{}: {} samples do not divide into {} channels", name, count,
                              a.channels);
      a.samples.resize(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i)
        a.samples[static_cast<size_t>(i)] = static_cast<int16_t>(U16(body + 2 * i));
      return a;
    }
    at += 8 + size + (size & 1);
  }
  return Status::Errorf("{}: {}", name, have_fmt ? "no data chunk" : "no fmt chunk");
}

Result<Audio> ReadWav(const std::string& path, int64_t max_samples) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Errorf("{}: cannot open", path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return ParseWav(bytes.data(), bytes.size(), path, max_samples);
}

Status WriteWav(const std::string& path, const Audio& a) {
  std::vector<uint8_t> b;
  const auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  const auto put16 = [&](uint16_t v) {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
  };
  const uint32_t data = static_cast<uint32_t>(a.samples.size() * 2);
  b.insert(b.end(), {'R', 'I', 'F', 'F'});
  put32(36 + data);
  b.insert(b.end(), {'W', 'A', 'V', 'E', 'f', 'm', 't', ' '});
  put32(16);
  put16(1);
  put16(static_cast<uint16_t>(a.channels));
  put32(static_cast<uint32_t>(a.rate));
  put32(static_cast<uint32_t>(a.rate * a.channels * 2));
  put16(static_cast<uint16_t>(a.channels * 2));
  put16(16);
  b.insert(b.end(), {'d', 'a', 't', 'a'});
  put32(data);
  for (int16_t s : a.samples) put16(static_cast<uint16_t>(s));
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) return Status::Errorf("{}: write failed", path);
  return Status::Ok();
}

std::vector<float> ToMono(const Audio& a) {
  const size_t frames = a.channels ? a.samples.size() / static_cast<size_t>(a.channels) : 0;
  std::vector<float> out(frames);
  for (size_t i = 0; i < frames; ++i) {
    float s = 0;
    for (int c = 0; c < a.channels; ++c) s += a.samples[i * static_cast<size_t>(a.channels) + c];
    out[i] = s / static_cast<float>(a.channels);
  }
  return out;
}

std::vector<float> Resample(const std::vector<float>& x, int from, int to) {
  if (from == to || x.empty() || from <= 0 || to <= 0) return x;
  const double ratio = static_cast<double>(to) / from;
  const size_t n = static_cast<size_t>(std::llround(static_cast<double>(x.size()) * ratio));
  std::vector<float> out(n);
  size_t done = 0;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_error_t err = soxr_oneshot(from, to, 1, x.data(), x.size(), nullptr, out.data(), n,
                                        &done, &io, &quality, nullptr);
  out.resize(err ? 0 : done);
  out.resize(n, 0.0f);  // the last fraction of a sample soxr may hold back
  return out;
}

std::vector<int16_t> FitLength(const std::vector<float>& x, int64_t n) {
  std::vector<int16_t> out(static_cast<size_t>(n), 0);
  const int64_t len = static_cast<int64_t>(x.size());
  const int64_t src0 = len > n ? (len - n) / 2 : 0, dst0 = len < n ? (n - len) / 2 : 0;
  for (int64_t i = 0; i < std::min(len, n); ++i) {
    const float v = std::round(x[static_cast<size_t>(src0 + i)]);
    out[static_cast<size_t>(dst0 + i)] = static_cast<int16_t>(std::clamp(v, -32768.0f, 32767.0f));
  }
  return out;
}

}  // namespace tml
