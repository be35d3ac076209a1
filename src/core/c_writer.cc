#include "core/c_writer.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace tml {

void CWriter::Line(const std::string& s) {
  out_.append(static_cast<size_t>(indent_) * 2, ' ');
  out_ += s;
  out_ += '\n';
}

void CWriter::Open(const std::string& head) {
  Line(head + " {");
  ++indent_;
}

void CWriter::Close(const std::string& tail) {
  --indent_;
  Line("}" + tail);
}

std::string CIdent(const std::string& name) {
  std::string r;
  for (char c : name) r += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  if (r.empty() || std::isdigit(static_cast<unsigned char>(r[0]))) r = "t_" + r;
  return r;
}

std::string CFloat(float v) {
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "(-INFINITY)";
  if (std::isnan(v)) return "NAN";
  std::string s = fmt::format("{:.9g}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

std::string CInt(int64_t v) {
  // INT32_MIN cannot be written as a negative literal of type int.
  if (v == INT32_MIN) return "(-2147483647 - 1)";
  return std::to_string(v);
}

CInit& CInit::F(const std::string& field, int64_t v) {
  parts_.push_back("." + field + " = " + CInt(v));
  return *this;
}

CInit& CInit::F(const std::string& field, float v) {
  parts_.push_back("." + field + " = " + CFloat(v));
  return *this;
}

CInit& CInit::F(const std::string& field, const std::string& expr) {
  parts_.push_back("." + field + " = " + expr);
  return *this;
}

CInit& CInit::A(const std::string& field, const int32_t* v, int n) {
  std::string s = "{";
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + CInt(v[i]);
  parts_.push_back("." + field + " = " + s + "}");
  return *this;
}

std::string CInit::str() const {
  std::string s = "{";
  for (size_t i = 0; i < parts_.size(); ++i) s += (i ? ", " : "") + parts_[i];
  return s + "}";
}

void EmitArray(CWriter& w, const std::string& ctype, const std::string& name, const void* data,
               size_t count, const std::string& qualifiers) {
  w.Line(fmt::format("{} {} {}[{}] TML_ALIGNED = {{", qualifiers, ctype, name, count ? count : 1));
  std::string line = "  ";
  auto flush = [&]() {
    if (line.size() > 2) w.Raw(line + "\n");
    line = "  ";
  };
  for (size_t i = 0; i < count; ++i) {
    std::string item;
    if (ctype == "float") {
      float v;
      std::memcpy(&v, static_cast<const uint8_t*>(data) + i * 4, 4);
      item = CFloat(v);
    } else if (ctype == "int8_t") {
      item = CInt(static_cast<const int8_t*>(data)[i]);
    } else if (ctype == "uint8_t") {
      item = CInt(static_cast<const uint8_t*>(data)[i]);
    } else if (ctype == "int16_t") {
      int16_t v;
      std::memcpy(&v, static_cast<const uint8_t*>(data) + i * 2, 2);
      item = CInt(v);
    } else if (ctype == "int32_t") {
      int32_t v;
      std::memcpy(&v, static_cast<const uint8_t*>(data) + i * 4, 4);
      item = CInt(v);
    } else {
      int64_t v;
      std::memcpy(&v, static_cast<const uint8_t*>(data) + i * 8, 8);
      item = fmt::format("INT64_C({})", v);
    }
    item += ",";
    if (line.size() + item.size() + 1 > 100) flush();
    line += item + (i + 1 < count ? " " : "");
  }
  if (count == 0) line += "0";
  flush();
  w.Line("};");
}

}  // namespace tml
