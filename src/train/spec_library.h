// The model specs a workspace offers: the zoo (examples/models in the source tree)
// and the ones users uploaded (WORKSPACE/specs, named NAME-HASH.yaml by content, so
// an upload never replaces another and the same text uploaded twice is one file).
//
//   TML_ASSIGN_OR_RETURN(SpecEntry e, AddModelSpec(ws.root, yaml_text));
//   // e.file is what a train step's `spec` parameter takes
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "train/model_spec.h"

namespace tml {

struct SpecEntry {
  ModelSpec spec;
  std::string file;  // absolute: workers may run in another directory
  bool uploaded = false;
};

// Zoo specs first, then uploads, each sorted by file name; unreadable files are skipped.
std::vector<SpecEntry> ListModelSpecs(const std::string& workspace_root);
// Checks the spec (every layer's shape, errors name "uploaded spec:LINE") and stores it.
Result<SpecEntry> AddModelSpec(const std::string& workspace_root, const std::string& yaml_text);

}  // namespace tml
