#include "fleet/broker_auth.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/process.h"

namespace tml {

namespace fs = std::filesystem;

namespace {

Result<std::string> NewPassword() {
  unsigned char bytes[18];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) return Status::Internal("broker auth: no random bytes from the kernel");
    got += static_cast<size_t>(n);
  }
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s;
  for (unsigned char b : bytes) s += kAlphabet[b % 62];
  return s;
}

Status CheckName(const std::string& kind, const std::string& name) {
  if (name.empty() || name.find_first_of("/+#: \t\r\n") != std::string::npos)
    return Status::Errorf("broker auth: {} name '{}' must be non-empty, without / + # : or spaces",
                          kind, name);
  return Status::Ok();
}

// The credentials are the owner's only (0600); the hashed password file and the ACL must
// be readable by the broker, which may run as a user of its own (0644).
Status WriteFileAs(const std::string& path, const std::string& text, mode_t mode) {
  return WriteFileAtomically(path, text.data(), text.size(), mode);
}

std::string Acl(const BrokerAuthRequest& q) {
  const std::string& p = q.prefix;
  std::string s =
      "# Written by tinymlaas broker auth: each user reaches only its own topics.\n"
      "# The control plane reads and writes everything under the prefix.\n"
      "user " +
      q.control_user + "\ntopic readwrite " + p +
      "/#\n\n"
      "# An agent (user = agent id) announces its own state; a device (user = device id)\n"
      "# publishes its own hello, events, results, telemetry, shadow answers, captures and\n"
      "# detections, and reads its own commands. %u is the connecting user.\n"
      "pattern write " +
      p + "/agents/%u/state\n";
  for (const char* leaf :
       {"hello", "events", "result", "telemetry", "shadow", "capture", "detection"})
    s += "pattern write " + p + "/devices/%u/" + leaf + "\n";
  s += "pattern read " + p + "/devices/%u/cmd/#\n";
  return s;
}

}  // namespace

namespace {

struct Credential {
  std::string password, kind;  // kind: control, agent, device ("" in files written by hand)
};

Result<std::map<std::string, Credential>> ReadCredentialFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::NotFound("{}: no such credentials file", path);
  std::map<std::string, Credential> out;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string name, extra;
    Credential c;
    if (!(in >> name >> c.password) || ((in >> c.kind) && (in >> extra)))
      return Status::Errorf("{}:{}: expected 'NAME PASSWORD [KIND]'", path, n);
    out[name] = c;
  }
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> ReadBrokerCredentials(const std::string& path) {
  TML_ASSIGN_OR_RETURN(auto all, ReadCredentialFile(path));
  std::map<std::string, std::string> out;
  for (const auto& [name, c] : all) out[name] = c.password;
  return out;
}

Result<std::string> BrokerPassword(const std::string& path, const std::string& user) {
  TML_ASSIGN_OR_RETURN(auto all, ReadBrokerCredentials(path));
  const auto it = all.find(user);
  if (it == all.end()) return Status::NotFound("{}: no password for user '{}'", path, user);
  return it->second;
}

Result<BrokerAuth> WriteBrokerAuth(const BrokerAuthRequest& q) {
  if (q.dir.empty()) return Status::Error("broker auth: a folder is needed");
  TML_RETURN_IF_ERROR(CheckName("control", q.control_user));
  std::map<std::string, std::string> kinds{{q.control_user, "control"}};
  for (const auto* list : {&q.agents, &q.devices})
    for (const std::string& n : *list) {
      const std::string kind = list == &q.agents ? "agent" : "device";
      TML_RETURN_IF_ERROR(CheckName(kind, n));
      if (!kinds.emplace(n, kind).second)
        return Status::Errorf(
            "broker auth: '{}' is named twice (agents, devices and the "
            "control user need distinct names)",
            n);
    }
  std::error_code ec;
  fs::create_directories(q.dir, ec);
  if (ec) return Status::Errorf("{}: {}", q.dir, ec.message());
  BrokerAuth a;
  a.password_file = (fs::path(q.dir) / "passwd").string();
  a.acl_file = (fs::path(q.dir) / "acl").string();
  a.credentials_file = (fs::path(q.dir) / "credentials").string();

  std::map<std::string, Credential> users;
  if (fs::exists(a.credentials_file)) {
    TML_ASSIGN_OR_RETURN(users, ReadCredentialFile(a.credentials_file));
  }
  for (const auto& [name, kind] : kinds) {
    auto it = users.find(name);
    if (it == users.end()) {
      TML_ASSIGN_OR_RETURN(std::string pw, NewPassword());
      users[name] = {pw, kind};
      a.added.push_back(name);
    } else if (!it->second.kind.empty() && it->second.kind != kind) {
      return Status::Errorf(
          "broker auth: '{}' is already a user as {} in {}; the {} needs "
          "a name of its own",
          name, it->second.kind, a.credentials_file, kind);
    }
  }
  std::string credentials = "# broker credentials (tinymlaas broker auth): NAME PASSWORD KIND\n";
  std::string plain;
  for (const auto& [name, c] : users) {
    credentials += name + " " + c.password + (c.kind.empty() ? "" : " " + c.kind) + "\n";
    plain += name + ":" + c.password + "\n";
  }
  TML_RETURN_IF_ERROR(WriteFileAs(a.credentials_file, credentials, 0600));
  // mosquitto_passwd -U hashes a plain "user:password" file in place.
  const std::string staged = a.password_file + ".new";
  TML_RETURN_IF_ERROR(WriteFileAs(staged, plain, 0600));
  auto r = RunProcess({"mosquitto_passwd", "-U", staged}, 60);
  if (!r.ok() || r->exit_code != 0) {
    fs::remove(staged, ec);
    return Status::Unavailable(
        "broker auth: mosquitto_passwd failed ({}); it comes with the mosquitto package",
        r.ok() ? r->output : r.status().message());
  }
  ::chmod(staged.c_str(), 0644);  // hashes only, from here on
  fs::rename(staged, a.password_file, ec);
  if (ec) return Status::Errorf("{}: {}", a.password_file, ec.message());
  TML_RETURN_IF_ERROR(WriteFileAs(a.acl_file, Acl(q), 0644));
  return a;
}

std::string BrokerAuthConfig(const BrokerAuth& a) {
  // set_tcp_nodelay: commands and their answers are small; without it each waits for
  // the peer's delayed ACK (about 40 ms a hop).
  return "allow_anonymous false\npassword_file " + a.password_file + "\nacl_file " + a.acl_file +
         "\nset_tcp_nodelay true\n";
}

}  // namespace tml
