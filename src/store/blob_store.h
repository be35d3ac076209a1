// Content-addressed file store: bytes are kept under the SHA-256 of their content,
// so equal content is stored once and an id names exactly one byte string.
//
//   BlobStore blobs(workspace + "/blobs");
//   TML_ASSIGN_OR_RETURN(std::string id, blobs.Put(bytes.data(), bytes.size()));
//   TML_ASSIGN_OR_RETURN(std::string back, blobs.Get(id));
#pragma once

#include <string>

#include "core/status.h"

namespace tml {

class BlobStore {
 public:
  explicit BlobStore(std::string root) : root_(std::move(root)) {}
  // Writes the bytes (atomically: a temporary file renamed into place) unless a blob
  // with that id exists; returns the id (64 lowercase hex characters).
  Result<std::string> Put(const void* data, size_t n) const;
  Result<std::string> Get(const std::string& id) const;
  bool Has(const std::string& id) const;
  // Path of a blob; an id that is not 64 hex characters is an error, so ids taken
  // from outside cannot name files outside the store.
  Result<std::string> PathOf(const std::string& id) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

bool IsContentId(const std::string& id);

}  // namespace tml
