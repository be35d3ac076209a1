// Small C source emitter: indentation, blocks, identifiers and literals, so
// that generated code is never glued together from raw string pieces.
//
//   CWriter w;
//   w.Open("void f(void)");
//   w.Line("x = 1;");
//   w.Close();
//   std::string src = w.str();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tml {

class CWriter {
 public:
  void Line(const std::string& s);
  void Blank() { out_ += "\n"; }
  void Open(const std::string& head);  // "head {" then indent
  void Close(const std::string& tail = "");
  void Raw(const std::string& s) { out_ += s; }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
  int indent_ = 0;
};

// A valid C identifier derived from any name ("conv/1:0" -> "conv_1_0").
std::string CIdent(const std::string& name);
// Exact literals: floats round-trip, infinities become INFINITY.
std::string CFloat(float v);
std::string CInt(int64_t v);

// Designated initializer builder: CInit().F("a", 1).F("b", 2.f).str() -> "{.a = 1, .b = 2.0f}".
class CInit {
 public:
  CInit& F(const std::string& field, int64_t v);
  CInit& F(const std::string& field, int v) { return F(field, static_cast<int64_t>(v)); }
  CInit& F(const std::string& field, float v);
  CInit& F(const std::string& field, const std::string& expr);  // raw expression
  CInit& F(const std::string& field, const char* expr) { return F(field, std::string(expr)); }
  CInit& A(const std::string& field, const int32_t* v, int n);  // inline array
  std::string str() const;

 private:
  std::vector<std::string> parts_;
};

// "static const int32_t name[3] = {1, 2, 3};" with line wrapping.
void EmitArray(CWriter& w, const std::string& ctype, const std::string& name, const void* data,
               size_t count, const std::string& qualifiers = "static const");

}  // namespace tml
