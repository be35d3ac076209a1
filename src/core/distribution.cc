#include "core/distribution.h"

#include <algorithm>
#include <cmath>

namespace tml {

int ConfidenceBin(double c) {
  if (!(c > 0)) return 0;  // NaN too
  return std::min(kConfidenceBins - 1, static_cast<int>(c * kConfidenceBins));
}

double PopulationStability(const std::vector<int64_t>& expected,
                           const std::vector<int64_t>& actual) {
  const size_t n = std::max(expected.size(), actual.size());
  double te = 0, ta = 0;
  for (int64_t v : expected) te += static_cast<double>(v);
  for (int64_t v : actual) ta += static_cast<double>(v);
  if (te <= 0 || ta <= 0) return 0;
  double psi = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e =
        std::max(0.5, i < expected.size() ? static_cast<double>(expected[i]) : 0.0) / te;
    const double a = std::max(0.5, i < actual.size() ? static_cast<double>(actual[i]) : 0.0) / ta;
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

}  // namespace tml
