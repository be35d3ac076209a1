// Data augmentation applied to training batches (seeded with the run's seed), parsed
// from a compact list:
//   "flip,shift=2,brightness=0.1,contrast=0.2,noise=0.02"        (images, HWC)
//   "time_shift=0.1,gain=6,noise=0.01,background=0.3"             (audio / signals)
//
//   TML_ASSIGN_OR_RETURN(Augmentation a, ParseAugmentation("flip,shift=2"));
#pragma once

#include <string>

#include "core/status.h"

namespace tml {

struct Augmentation {
  bool flip = false;     // mirror left-right with probability 1/2
  int shift = 0;         // translate by up to +-shift pixels in each direction (zero fill)
  float brightness = 0;  // add U(-b, b)
  float contrast = 0;    // scale around the sample mean by U(1 - c, 1 + c)
  float noise = 0;       // add N(0, noise^2)
  float time_shift = 0;  // roll a signal by up to +-time_shift of its length (zero fill)
  float gain_db = 0;     // multiply a signal by 10^(U(-g, g) / 20)
  float background = 0;  // add a random background clip (TrainOptions::noise_bank) x U(0, b)
  bool any() const {
    return flip || shift || brightness > 0 || contrast > 0 || noise > 0 || time_shift > 0 ||
           gain_db > 0 || background > 0;
  }
  std::string ToString() const;
};

Result<Augmentation> ParseAugmentation(const std::string& text);

}  // namespace tml
