// Whether a file named by outside input (an API request, a job's parameters) lies in
// one of the directories a server reads files from: both sides made absolute and
// canonical first, so "..", symbolic links and relative names cannot step outside.
//
//   if (!PathUnder(model, {"/srv/ws"})) return Status::Error("outside");
#pragma once

#include <string>
#include <vector>

namespace tml {

bool PathUnder(const std::string& file, const std::vector<std::string>& roots);

}  // namespace tml
