#include "server/session.h"

#include <fmt/format.h>

#include <chrono>

#include "core/clock.h"
#include "core/sha256.h"
#include "server/http_server.h"

namespace tml {

namespace {}  // namespace

Result<std::string> SessionStore::Create(const std::string& user) {
  TML_ASSIGN_OR_RETURN(std::string id, NewToken());
  const int64_t now = NowMs();
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = by_hash_.begin(); it != by_hash_.end();)  // forget expired sessions
    it = it->second.expires_ms <= now ? by_hash_.erase(it) : std::next(it);
  by_hash_[Sha256Hex(id)] = {user, now + lifetime_ms_};
  return id;
}

std::optional<std::string> SessionStore::User(const std::string& id) {
  if (id.empty()) return std::nullopt;
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_hash_.find(Sha256Hex(id));
  if (it == by_hash_.end()) return std::nullopt;
  if (it->second.expires_ms <= NowMs()) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  return it->second.user;
}

void SessionStore::Remove(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  by_hash_.erase(Sha256Hex(id));
}

std::string SessionCookieHeader(const std::string& id, int64_t max_age_s) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", kSessionCookie, id,
                     max_age_s);
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    const size_t start = part.find_first_not_of(' ');
    if (start != std::string::npos) part = part.substr(start);
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 &&
        part[name.size()] == '=')
      return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

}  // namespace tml
