// The wall clock in milliseconds since the Unix epoch: the unit of every *_ms field the
// store keeps and the messages carry.
#pragma once

#include <chrono>
#include <cstdint>

namespace tml {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tml
