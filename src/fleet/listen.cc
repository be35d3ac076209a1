#include "fleet/listen.h"

#include <cmath>
#include <cstdlib>

namespace tml {

namespace {

tml_proto_stream Defaults() {
  tml_proto_stream s{};
  s.hop = 10;
  s.smooth = 3;
  s.refractory = 8;
  s.threshold = 0.6f;
  return s;
}

Status Check(const tml_proto_stream& s, const std::string& where) {
  if (s.hop < 1 || s.hop > 255) return Status::Errorf("{}: hop must be 1..255 frames", where);
  if (s.smooth < 1 || s.smooth > 16)
    return Status::Errorf("{}: smooth must be 1..16 inferences", where);
  if (!(s.threshold > 0 && s.threshold <= 1))
    return Status::Errorf("{}: threshold must be in (0, 1]", where);
  if (s.keywords == 0) return Status::Errorf("{}: name the keyword classes (keywords=0-9)", where);
  return Status::Ok();
}

Result<uint32_t> Whole(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || v < 0 || v > 100000)
    return Status::Errorf("listen: {} '{}' is not a whole number", what, text);
  return static_cast<uint32_t>(v);
}

Status AddKeyword(tml_proto_stream& s, int64_t c, const std::string& where) {
  if (c < 0 || c > 31) return Status::Errorf("{}: keyword class {} is not in 0..31", where, c);
  s.keywords |= 1u << c;
  return Status::Ok();
}

}  // namespace

Result<tml_proto_stream> ParseListenSpec(const std::string& spec) {
  tml_proto_stream s = Defaults();
  size_t at = 0;
  while (at < spec.size()) {
    size_t end = spec.find(',', at);
    // keywords=0-3,7 continues with bare numbers after a comma
    std::string item = spec.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? spec.size() : end + 1;
    const size_t eq = item.find('=');
    std::string key = eq == std::string::npos ? "keywords" : item.substr(0, eq);
    std::string value = eq == std::string::npos ? item : item.substr(eq + 1);
    if (key == "keywords") {
      const size_t dash = value.find('-');
      TML_ASSIGN_OR_RETURN(uint32_t lo, Whole(value.substr(0, dash), "keyword"));
      uint32_t hi = lo;
      if (dash != std::string::npos) {
        TML_ASSIGN_OR_RETURN(hi, Whole(value.substr(dash + 1), "keyword"));
      }
      if (hi < lo) return Status::Errorf("listen: keywords {} run backwards", value);
      for (uint32_t c = lo; c <= hi; ++c) TML_RETURN_IF_ERROR(AddKeyword(s, c, "listen"));
    } else if (key == "hop") {
      TML_ASSIGN_OR_RETURN(s.hop, Whole(value, key));
    } else if (key == "smooth") {
      TML_ASSIGN_OR_RETURN(s.smooth, Whole(value, key));
    } else if (key == "refractory") {
      TML_ASSIGN_OR_RETURN(s.refractory, Whole(value, key));
    } else if (key == "threshold") {
      char* e = nullptr;
      s.threshold = std::strtof(value.c_str(), &e);
      if (value.empty() || *e)
        return Status::Errorf("listen: threshold '{}' is not a number", value);
    } else {
      return Status::Errorf(
          "listen: unknown setting '{}' (hop, smooth, refractory, threshold, keywords)", key);
    }
  }
  TML_RETURN_IF_ERROR(Check(s, "listen"));
  return s;
}

Result<tml_proto_stream> ListenFromJson(const nlohmann::json& j) {
  const std::string where = "sense: \"stream\"";
  if (!j.is_object()) return Status::Errorf("{} must be an object", where);
  tml_proto_stream s = Defaults();
  for (const auto& [key, v] : j.items()) {
    if (key == "keywords") {
      if (!v.is_array()) return Status::Errorf("{}: keywords must be a list of classes", where);
      for (const auto& c : v) {
        if (!c.is_number_integer()) return Status::Errorf("{}: keywords must be integers", where);
        TML_RETURN_IF_ERROR(AddKeyword(s, c.get<int64_t>(), where));
      }
    } else if (key == "threshold") {
      if (!v.is_number()) return Status::Errorf("{}: threshold must be a number", where);
      s.threshold = v.get<float>();
    } else if (key == "hop" || key == "smooth" || key == "refractory") {
      if (!v.is_number_unsigned() || v.get<uint64_t>() > 100000)
        return Status::Errorf("{}: {} must be a whole number", where, key);
      (key == "hop" ? s.hop : key == "smooth" ? s.smooth : s.refractory) = v.get<uint32_t>();
    } else {
      return Status::Errorf("{}: unknown setting '{}'", where, key);
    }
  }
  TML_RETURN_IF_ERROR(Check(s, where));
  return s;
}

nlohmann::json ListenJson(const tml_proto_stream& s) {
  nlohmann::json keywords = nlohmann::json::array();
  for (int c = 0; c < 32; ++c)
    if (s.keywords >> c & 1u) keywords.push_back(c);
  return {{"hop", s.hop},
          {"smooth", s.smooth},
          {"refractory", s.refractory},
          {"threshold", s.threshold},
          {"keywords", keywords}};
}

}  // namespace tml
