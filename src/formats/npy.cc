#include "formats/npy.h"

#include <fmt/format.h>

#include <cstring>

namespace tml {

namespace {
const char* Descr(DType t) {
  switch (t) {
    case DType::kFloat32:
      return "<f4";
    case DType::kInt8:
      return "|i1";
    case DType::kUInt8:
      return "|u1";
    case DType::kInt16:
      return "<i2";
    case DType::kUInt16:
      return "<u2";
    case DType::kInt32:
      return "<i4";
    case DType::kUInt32:
      return "<u4";
    case DType::kInt64:
      return "<i8";
    case DType::kUInt64:
      return "<u8";
    case DType::kBool:
      return "|b1";
  }
  return "|u1";
}

// Value text after 'key': in the header dict, up to the matching delimiter.
std::string DictValue(const std::string& h, const std::string& key) {
  const auto k = h.find("'" + key + "'");
  if (k == std::string::npos) return "";
  auto p = h.find(':', k);
  if (p == std::string::npos) return "";
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p >= h.size()) return "";
  if (h[p] == '(') {
    const auto e = h.find(')', p);
    return e == std::string::npos ? "" : h.substr(p, e - p + 1);
  }
  if (h[p] == '\'') {
    const auto e = h.find('\'', p + 1);
    return e == std::string::npos ? "" : h.substr(p + 1, e - p - 1);
  }
  auto e = h.find_first_of(",}", p);
  return h.substr(p, e == std::string::npos ? std::string::npos : e - p);
}
}  // namespace

Result<NpyArray> ParseNpy(const std::vector<uint8_t>& b, const std::string& where) {
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0)
    return Status::Errorf("{}: not a .npy file (bad magic)", where);
  const int major = b[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = b[8] | (b[9] << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) return Status::Errorf("{}: truncated header", where);
    header_len = b[8] | (b[9] << 8) | (b[10] << 16) | (static_cast<size_t>(b[11]) << 24);
    start = 12;
  } else {
    return Status::Errorf("{}: unsupported .npy version {}", where, major);
  }
  if (start + header_len > b.size()) return Status::Errorf("{}: truncated header", where);
  const std::string h(reinterpret_cast<const char*>(b.data() + start), header_len);
  NpyArray a;
  const std::string descr = DictValue(h, "descr");
  bool found = false;
  for (DType t : {DType::kFloat32, DType::kInt8, DType::kUInt8, DType::kInt16, DType::kUInt16,
                  DType::kInt32, DType::kUInt32, DType::kInt64, DType::kUInt64, DType::kBool}) {
    const std::string d = Descr(t);
    if (descr == d || (d[0] == '|' && descr == "<" + d.substr(1)) ||
        (d[0] == '<' && descr == "=" + d.substr(1))) {
      a.dtype = t;
      found = true;
    }
  }
  if (!found) return Status::Errorf("{}: unsupported dtype '{}'", where, descr);
  if (DictValue(h, "fortran_order").find("True") != std::string::npos)
    return Status::Errorf("{}: Fortran-order arrays are not supported", where);
  const std::string shape = DictValue(h, "shape");
  if (shape.empty() || shape[0] != '(') return Status::Errorf("{}: header has no shape", where);
  std::string num;
  for (char c : shape.substr(1)) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      num += c;
    } else if (c == ',' || c == ')') {
      if (!num.empty()) {
        if (num.size() > 12) return Status::Errorf("{}: dimension too large", where);
        a.shape.push_back(std::stoll(num));
      }
      num.clear();
    } else if (c != ' ') {
      return Status::Errorf("{}: malformed shape '{}'", where, shape);
    }
  }
  const size_t need = static_cast<size_t>(NumElements(a.shape)) * DTypeSize(a.dtype);
  const size_t data_start = start + header_len;
  if (b.size() - data_start != need)
    return Status::Errorf("{}: shape {} needs {} data bytes, file has {}", where, ShapeStr(a.shape),
                          need, b.size() - data_start);
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(data_start), b.end());
  return a;
}

std::vector<uint8_t> WriteNpy(DType dtype, const Shape& shape, const void* data, size_t bytes) {
  // Python tuple syntax: "(3,)" for one dimension, "(2, 3)" otherwise.
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string h =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", Descr(dtype), dims);
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(h.size() & 0xff);
  file += static_cast<char>(h.size() >> 8);
  file += h;
  file.append(static_cast<const char*>(data), bytes);
  return std::vector<uint8_t>(file.begin(), file.end());
}

}  // namespace tml
