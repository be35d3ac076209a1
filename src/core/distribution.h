// Distributions of a classifier's answers, shared by evaluation (the reference), the
// telemetry aggregates (what devices answer) and drift: confidence histogram bins, and
// the population stability index between two histograms.
//
//   ++bins[ConfidenceBin(0.73)];                       // bin 7 of kConfidenceBins
//   const double psi = PopulationStability(reference, live);   // > 0.25: a shift
#pragma once

#include <cstdint>
#include <vector>

namespace tml {

// [0, 0.1), [0.1, 0.2), ..., [0.9, 1]; values outside [0, 1] (and NaN) go to the nearest
// end.
inline constexpr int kConfidenceBins = 10;
int ConfidenceBin(double confidence);

// PSI = sum over bins of (a - e) * ln(a / e), a and e the two histograms' shares; a bin
// empty on one side counts as 0.5 observation there (so the index stays finite). The
// histograms may differ in length (missing bins are empty). 0 when either is empty.
double PopulationStability(const std::vector<int64_t>& expected,
                           const std::vector<int64_t>& actual);

}  // namespace tml
