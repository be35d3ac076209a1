// WAV files (RIFF WAVE, PCM 16-bit, any rate and channel count; WAVE_FORMAT_EXTENSIBLE
// with a PCM subformat too), mono conversion and resampling.
//
//   TML_ASSIGN_OR_RETURN(Audio a, ReadWav("yes.wav"));
//   std::vector<int16_t> x = FitLength(Resample(ToMono(a), a.rate, 16000), 16000);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

struct Audio {
  int rate = 0, channels = 0;
  std::vector<int16_t> samples;  // interleaved
};

// Errors name the file and the problem (not RIFF/WAVE, no fmt or data chunk, not
// 16-bit PCM, truncated); files above max_samples samples are refused.
Result<Audio> ReadWav(const std::string& path, int64_t max_samples = int64_t{1} << 28);
Result<Audio> ParseWav(const uint8_t* data, size_t size, const std::string& name,
                       int64_t max_samples = int64_t{1} << 28);
Status WriteWav(const std::string& path, const Audio& a);
std::vector<float> ToMono(const Audio& a);  // average of the channels, in int16 units
// Band-limited resampling by libsoxr (high quality: flat to 0.91 of the lower Nyquist
// frequency, aliasing below -100 dB), x.size() x to / from samples out.
std::vector<float> Resample(const std::vector<float>& x, int from_rate, int to_rate);
// Centre-crops or zero-pads to n samples and rounds to int16 (saturating).
std::vector<int16_t> FitLength(const std::vector<float>& x, int64_t n);

}  // namespace tml
