// Browser sessions: the dashboard trades its API token once (POST /api/session with
// the Bearer header) for a random session id in an HttpOnly, SameSite=Strict cookie,
// so no token ever travels in a URL (EventSource streams and <img> thumbnails carry
// the cookie). Sessions live in the server's memory (a restart logs browsers out) and
// expire after their lifetime; only SHA-256 of an id is kept.
//
//   SessionStore s(12 * 3600 * 1000);
//   std::string id = s.Create("alice");           // the cookie value
//   std::optional<std::string> user = s.User(id);  // "alice" until it expires
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/status.h"

namespace tml {

inline constexpr const char* kSessionCookie = "tml_session";

class SessionStore {
 public:
  explicit SessionStore(int64_t lifetime_ms) : lifetime_ms_(lifetime_ms) {}
  Result<std::string> Create(const std::string& user);
  std::optional<std::string> User(const std::string& id);
  void Remove(const std::string& id);
  int64_t lifetime_ms() const { return lifetime_ms_; }

 private:
  struct Entry {
    std::string user;
    int64_t expires_ms;
  };
  std::mutex mu_;
  std::map<std::string, Entry> by_hash_;
  int64_t lifetime_ms_;
};

// The Set-Cookie value for a session id (max_age_s 0: delete the cookie).
std::string SessionCookieHeader(const std::string& id, int64_t max_age_s);
// The value of cookie `name` in a Cookie request header ("" when absent).
std::string CookieValue(const std::string& cookie_header, const std::string& name);

}  // namespace tml
