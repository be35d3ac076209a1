#include "data/idx.h"

#include <zlib.h>

#include <cstring>

namespace tml {
namespace {

size_t ElementSize(IdxType t) {
  switch (t) {
    case IdxType::kUInt8:
    case IdxType::kInt8:
      return 1;
    case IdxType::kInt16:
      return 2;
    case IdxType::kInt32:
    case IdxType::kFloat32:
      return 4;
    case IdxType::kFloat64:
      return 8;
  }
  return 0;
}

uint64_t BigEndian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int64_t IdxArray::count() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

Result<IdxArray> ParseIdx(const uint8_t* data, size_t size, const std::string& name,
                          int64_t max_elements) {
  if (size < 4) return Status::Errorf("{}: not an IDX file (only {} bytes)", name, size);
  if (data[0] != 0 || data[1] != 0)
    return Status::Errorf("{}: not an IDX file (magic {:02x} {:02x} {:02x} {:02x})", name, data[0],
                          data[1], data[2], data[3]);
  IdxArray a;
  a.type = static_cast<IdxType>(data[2]);
  const size_t esize = ElementSize(a.type);
  if (esize == 0) return Status::Errorf("{}: unknown IDX element type 0x{:02x}", name, data[2]);
  const size_t ndims = data[3];
  if (ndims == 0) return Status::Errorf("{}: IDX file with no dimensions", name);
  if (size < 4 + 4 * ndims)
    return Status::Errorf("{}: truncated header ({} dimensions need {} bytes, file has {})", name,
                          ndims, 4 + 4 * ndims, size);
  int64_t count = 1;
  for (size_t d = 0; d < ndims; ++d) {
    const int64_t n = static_cast<int64_t>(BigEndian(data + 4 + 4 * d, 4));
    if (n == 0) return Status::Errorf("{}: dimension {} is 0", name, d);
    if (count > max_elements / n)
      return Status::Errorf("{}: more than {} elements (dimension {} is {})", name, max_elements, d,
                            n);
    count *= n;
    a.dims.push_back(n);
  }
  const size_t header = 4 + 4 * ndims;
  const uint64_t want = static_cast<uint64_t>(count) * esize;
  if (size - header < want)
    return Status::Errorf("{}: truncated: {} elements need {} bytes of data, found {}", name, count,
                          want, size - header);
  if (size - header > want)
    return Status::Errorf("{}: {} unexpected bytes after the {} elements", name,
                          size - header - want, count);
  const uint8_t* p = data + header;
  if (esize == 1) {
    a.bytes.assign(p, p + count);
    return a;
  }
  a.values.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t raw = BigEndian(p + static_cast<size_t>(i) * esize, esize);
    float v = 0.0f;
    switch (a.type) {
      case IdxType::kInt16:
        v = static_cast<float>(static_cast<int16_t>(raw));
        break;
      case IdxType::kInt32:
        v = static_cast<float>(static_cast<int32_t>(raw));
        break;
      case IdxType::kFloat32: {
        const uint32_t bits = static_cast<uint32_t>(raw);
        std::memcpy(&v, &bits, 4);
        break;
      }
      case IdxType::kFloat64: {
        double d;
        std::memcpy(&d, &raw, 8);
        v = static_cast<float>(d);
        break;
      }
      default:
        break;
    }
    a.values[static_cast<size_t>(i)] = v;
  }
  return a;
}

Result<IdxArray> ReadIdx(const std::string& path, int64_t max_elements) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files as they are
  if (!f) return Status::Errorf("{}: cannot open", path);
  std::vector<uint8_t> buf;
  uint8_t chunk[1 << 16];
  // Bound what a corrupt or hostile file can make us hold in memory.
  const uint64_t limit = static_cast<uint64_t>(max_elements) * 8 + 4 + 4 * 255;
  for (;;) {
    const int n = gzread(f, chunk, sizeof(chunk));
    if (n < 0) {
      int errnum = 0;
      const std::string msg = gzerror(f, &errnum);
      gzclose(f);
      return Status::Errorf("{}: read error ({})", path, msg);
    }
    if (n == 0) break;
    buf.insert(buf.end(), chunk, chunk + n);
    if (buf.size() > limit) {
      gzclose(f);
      return Status::Errorf("{}: larger than {} bytes", path, limit);
    }
  }
  gzclose(f);
  if (buf.empty()) return Status::Errorf("{}: empty file", path);
  return ParseIdx(buf.data(), buf.size(), path, max_elements);
}

Status WriteIdxU8(const std::string& path, const std::vector<int64_t>& dims,
                  const std::vector<uint8_t>& bytes) {
  if (dims.empty() || dims.size() > 255) return Status::Errorf("{}: 1 to 255 dimensions", path);
  std::vector<uint8_t> out = {0, 0, static_cast<uint8_t>(IdxType::kUInt8),
                              static_cast<uint8_t>(dims.size())};
  int64_t count = 1;
  for (int64_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(d >> s));
    count *= d;
  }
  if (count != static_cast<int64_t>(bytes.size()))
    return Status::Errorf("{}: {} bytes for {} elements", path, bytes.size(), count);
  out.insert(out.end(), bytes.begin(), bytes.end());
  gzFile f = gzopen(path.c_str(), EndsWith(path, ".gz") ? "wb" : "wbT");
  if (!f) return Status::Errorf("{}: cannot create", path);
  const int n = gzwrite(f, out.data(), static_cast<unsigned>(out.size()));
  const int rc = gzclose(f);
  if (n != static_cast<int>(out.size()) || rc != Z_OK)
    return Status::Errorf("{}: write failed", path);
  return Status::Ok();
}

}  // namespace tml
