#include "core/path_under.h"

#include <algorithm>
#include <filesystem>

namespace tml {

bool PathUnder(const std::string& file, const std::vector<std::string>& roots) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path f = fs::weakly_canonical(fs::absolute(file, ec), ec);
  if (ec || file.empty()) return false;
  for (const std::string& r : roots) {
    const fs::path c = fs::weakly_canonical(fs::absolute(r, ec), ec);
    if (ec) continue;
    auto [ri, fi] = std::mismatch(c.begin(), c.end(), f.begin(), f.end());
    if (ri == c.end()) return true;
  }
  return false;
}

}  // namespace tml
