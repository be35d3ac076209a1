// Per-op test graphs, float32 and int8, over shape classes (odd channels,
// strides 1 and 2, padding, per-channel quantization, broadcasting). Every op
// in the registry must appear here: ops_test checks it, so no op is untested.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tml::testing {

struct OpCase {
  std::string name;
  OpType op;
  std::function<Result<Graph>()> build;
};

const std::vector<OpCase>& AllOpCases();
inline void PrintTo(const OpCase& c, std::ostream* os) {
  *os << c.name;
}
QuantParams Q(float scale, int64_t zero_point);
// Seeded test data: int8 values in -127..127, int32 values in -range..range.
std::vector<int8_t> RandomI8(size_t n, uint64_t seed);
std::vector<int32_t> RandomI32(size_t n, int32_t range, uint64_t seed);

}  // namespace tml::testing
