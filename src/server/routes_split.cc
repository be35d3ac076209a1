// The chains a model can be split over (split/chain.h): the shipped ones, by name.
#include <filesystem>

#include "server/api.h"
#include "server/schemas.h"
#include "split/chain.h"

namespace tml {

using json = nlohmann::json;

void AddSplitRoutes(std::vector<Route>& r) {
  Route chains{"GET", "/api/chains",
               "Node chains to split a model over (examples/chains): nodes with budgets, links "
               "with bandwidth, latency and energy per byte",
               "split"};
  chains.handler = [](ApiContext&, const ApiRequest&) {
    auto all = ShippedChains();
    if (!all.ok()) return FromStatus(all.status());
    json out = json::array();
    for (const Chain& c : *all) {
      json nodes = json::array(), links = json::array();
      for (const ChainNode& n : c.nodes)
        nodes.push_back({{"name", n.name},
                         {"target", n.mcu() ? n.target : "host"},
                         {"ram_bytes", n.ram_bytes},
                         {"flash_bytes", n.flash_bytes}});
      for (const LinkProfile& l : c.links)
        links.push_back({{"profile", l.name},
                         {"bandwidth_bps", l.bandwidth_bps},
                         {"latency_ms", l.latency_ms},
                         {"energy_nj_per_byte", l.energy_nj_per_byte}});
      out.push_back({{"name", std::filesystem::path(c.source_file).stem().string()},
                     {"title", c.name},
                     {"nodes", nodes},
                     {"links", links}});
    }
    return Json(out);
  };
  chains.response = schema::Array(schema::Chain());
  r.push_back(chains);
}

}  // namespace tml
