// Broker identities: every agent, every device and the control plane get their own
// MQTT user and password, and the broker's ACL lets each reach only its own topics
// (docs/fleet.md). Written for Mosquitto: a password file hashed by mosquitto_passwd,
// an acl_file, and a credentials file (name password per line, the owner's only) from
// which agents and the control plane take their passwords.
//
//   BrokerAuthRequest q;  q.dir = "ws/broker";  q.agents = {"gw1"};  q.devices = {"m4-1"};
//   TML_ASSIGN_OR_RETURN(BrokerAuth a, WriteBrokerAuth(q));
//   // mosquitto.conf: BrokerAuthConfig(a)
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace tml {

struct BrokerAuthRequest {
  std::string dir;
  std::string prefix = "tinymlaas";
  std::string control_user = "control";  // the control plane: every topic under the prefix
  std::vector<std::string> agents, devices;
};

struct BrokerAuth {
  std::string password_file, acl_file, credentials_file;
  std::vector<std::string> added;  // users new in this call (the others kept their passwords)
};

// Adds users to dir's files (existing users keep their passwords) and rewrites the ACL
// for all of them. Names must be distinct and free of / + # : and spaces.
Result<BrokerAuth> WriteBrokerAuth(const BrokerAuthRequest& q);

// The lines for mosquitto.conf.
std::string BrokerAuthConfig(const BrokerAuth& a);

// name -> password from a credentials file.
Result<std::map<std::string, std::string>> ReadBrokerCredentials(const std::string& path);
// One user's password from a credentials file; an error naming the file if it lacks it.
Result<std::string> BrokerPassword(const std::string& path, const std::string& user);

}  // namespace tml
