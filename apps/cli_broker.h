// The broker options every command that talks to the fleet takes (--broker, --user,
// --password, --credentials), and the control plane's connection options from them.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "fleet/broker_auth.h"
#include "fleet/control_plane.h"

namespace tml::cli {

struct BrokerArgs {
  std::string broker = "127.0.0.1:1883", user, password, credentials;

  Result<ControlOptions> Broker() const {
    ControlOptions o;
    TML_RETURN_IF_ERROR(ParseBroker(broker, &o.broker_host, &o.broker_port));
    o.username = user;
    o.password = password;
    if (!credentials.empty()) {
      if (o.username.empty()) o.username = "control";
      TML_ASSIGN_OR_RETURN(o.password, BrokerPassword(credentials, o.username));
    }
    return o;
  }
};

inline void AddBrokerOptions(CLI::App* c, BrokerArgs* a) {
  c->add_option("--broker", a->broker, "MQTT broker HOST:PORT the agents use")
      ->default_str("127.0.0.1:1883");
  c->add_option("--user", a->user, "Broker user name (the control plane's credentials)");
  c->add_option("--password", a->password, "Broker password");
  c->add_option("--credentials", a->credentials,
                "Broker credentials file (tinymlaas broker auth): the password of --user, "
                "by default the control user 'control'");
}

}  // namespace tml::cli
