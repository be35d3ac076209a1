#include "train/augment.h"

#include <sstream>
#include <vector>

namespace tml {

Result<Augmentation> ParseAugmentation(const std::string& text) {
  Augmentation a;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string val = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "flip") {
      if (!val.empty()) return Status::Errorf("augmentation 'flip' takes no value");
      a.flip = true;
      continue;
    }
    float v = 0;
    try {
      size_t used = 0;
      v = std::stof(val, &used);
      if (used != val.size()) throw std::invalid_argument(val);
    } catch (const std::exception&) {
      return Status::Errorf("augmentation '{}': '{}' is not a number", key, val);
    }
    const auto range = [&](float lo, float hi) -> Status {
      if (!(v >= lo && v <= hi))
        return Status::Errorf("augmentation '{}={}' must be in [{}, {}]", key, val, lo, hi);
      return Status::Ok();
    };
    if (key == "shift") {
      TML_RETURN_IF_ERROR(range(0, 64));
      a.shift = static_cast<int>(v);
    } else if (key == "brightness") {
      TML_RETURN_IF_ERROR(range(0, 1));
      a.brightness = v;
    } else if (key == "contrast") {
      TML_RETURN_IF_ERROR(range(0, 1));
      a.contrast = v;
    } else if (key == "noise") {
      TML_RETURN_IF_ERROR(range(0, 1));
      a.noise = v;
    } else if (key == "time_shift") {
      TML_RETURN_IF_ERROR(range(0, 0.5f));
      a.time_shift = v;
    } else if (key == "background") {
      TML_RETURN_IF_ERROR(range(0, 1));
      a.background = v;
    } else if (key == "gain") {
      TML_RETURN_IF_ERROR(range(0, 40));
      a.gain_db = v;
    } else {
      return Status::Errorf(
          "unknown augmentation '{}' (flip, shift, brightness, contrast, noise, time_shift, gain, "
          "background)",
          key);
    }
  }
  return a;
}

std::string Augmentation::ToString() const {
  std::vector<std::string> parts;
  if (flip) parts.push_back("flip");
  if (shift) parts.push_back(fmt::format("shift={}", shift));
  if (brightness > 0) parts.push_back(fmt::format("brightness={}", brightness));
  if (contrast > 0) parts.push_back(fmt::format("contrast={}", contrast));
  if (noise > 0) parts.push_back(fmt::format("noise={}", noise));
  if (time_shift > 0) parts.push_back(fmt::format("time_shift={}", time_shift));
  if (gain_db > 0) parts.push_back(fmt::format("gain={}", gain_db));
  if (background > 0) parts.push_back(fmt::format("background={}", background));
  return fmt::format("{}", fmt::join(parts, ","));
}

}  // namespace tml
