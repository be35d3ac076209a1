// IDX files (the MNIST / Fashion-MNIST container): a 4-byte magic (0, 0, element
// type, number of dimensions), big-endian 32-bit dimension sizes, then the
// elements big-endian in row-major order. gzip-compressed files are read
// transparently.
//
//   TML_ASSIGN_OR_RETURN(IdxArray a, ReadIdx("train-images-idx3-ubyte.gz"));
//   a.dims  // {60000, 28, 28}; a.values: every element as float
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

enum class IdxType : uint8_t {
  kUInt8 = 0x08,
  kInt8 = 0x09,
  kInt16 = 0x0B,
  kInt32 = 0x0C,
  kFloat32 = 0x0D,
  kFloat64 = 0x0E,
};

struct IdxArray {
  IdxType type = IdxType::kUInt8;
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;  // uint8 / int8 files: the raw elements
  std::vector<float> values;   // other types: the elements converted to float
  int64_t count() const;
};

// Errors name the file and the problem (bad magic, unknown type, truncated data,
// trailing bytes, more than max_elements elements).
Result<IdxArray> ReadIdx(const std::string& path, int64_t max_elements = int64_t{1} << 31);
// Parses IDX bytes that are already in memory (uncompressed); `name` is used in errors.
Result<IdxArray> ParseIdx(const uint8_t* data, size_t size, const std::string& name,
                          int64_t max_elements = int64_t{1} << 31);
// Writes an uint8 IDX file, gzip-compressed when the path ends in ".gz".
Status WriteIdxU8(const std::string& path, const std::vector<int64_t>& dims,
                  const std::vector<uint8_t>& bytes);

}  // namespace tml
