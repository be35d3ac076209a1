// Browser sessions (see session.h): trade the API token for an HttpOnly cookie, ask
// who is logged in, log out.
#include "server/api.h"
#include "server/schemas.h"
#include "server/session.h"

namespace tml {

void AddSessionRoutes(std::vector<Route>& r) {
  Route create{"POST", "/api/session",
               "Start a browser session: send the token as 'Authorization: Bearer TOKEN' once; "
               "the response sets an HttpOnly, SameSite=Strict session cookie",
               "auth"};
  create.success = 201;
  create.handler = [](ApiContext& c, const ApiRequest& q) {
    auto id = c.sessions.Create(q.user);
    if (!id.ok()) return FromStatus(id.status());
    const int64_t max_age = c.sessions.lifetime_ms() / 1000;
    ApiResponse res = Json({{"user", q.user}, {"expires_in_s", max_age}}, 201);
    res.headers.push_back({"Set-Cookie", SessionCookieHeader(*id, max_age)});
    return res;
  };
  Route who{"GET", "/api/session",
            "Who the browser is logged in as: the session's user, or null (never an error, so "
            "a page can ask before logging in)",
            "auth"};
  who.auth = false;
  who.handler = [](ApiContext&, const ApiRequest& q) {
    return Json({{"user", q.user.empty() ? nlohmann::json(nullptr) : nlohmann::json(q.user)}});
  };
  Route end{"DELETE", "/api/session", "End the browser session (log out)", "auth"};
  end.handler = [](ApiContext& c, const ApiRequest& q) {
    if (!q.session.empty()) c.sessions.Remove(q.session);
    ApiResponse res = Json({{"ended", !q.session.empty()}});
    res.headers.push_back({"Set-Cookie", SessionCookieHeader("", 0)});
    return res;
  };
  create.response = schema::Session();
  r.push_back(create);
  who.response = schema::Session();
  r.push_back(who);
  end.response = schema::Session();
  r.push_back(end);
}

}  // namespace tml
