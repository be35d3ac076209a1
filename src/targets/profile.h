// Static profile of a prepared graph: per-layer MACs, weight and activation
// bytes, arena offsets, and totals against the planner's lower bound.
//
//   ProfileReport p = ProfileGraph(graph);
//   std::cout << p.ToText();  or  p.ToJson().dump(2)
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "prepare/planner.h"
#include "targets/mcu.h"

namespace tml {

struct LayerProfile {
  std::string name, op;
  std::vector<Shape> input_shapes;
  Shape output_shape;
  std::string dtype;
  int64_t macs = 0;
  int64_t weight_bytes = 0;      // constant inputs
  int64_t activation_bytes = 0;  // output tensor
  int64_t arena_offset = -1;
};

struct ProfileReport {
  std::string model;
  std::vector<LayerProfile> layers;
  int64_t macs = 0;
  int64_t weight_bytes = 0;
  int64_t arena_bytes = 0;
  int64_t arena_lower_bound_bytes = 0;
  // The arena over time: which bytes are live from which layer to which.
  std::vector<PlannedBuffer> arena_buffers;
  std::optional<DeviceProfile> device;  // with --target: measured on the emulated board
  nlohmann::json ToJson() const;
  std::string ToText() const;

 private:
  std::string DeviceText(const DeviceProfile& d) const;
};

Result<ProfileReport> ProfileGraph(const Graph& g);
// Static profile plus instructions, flash and RAM measured on an emulated board.
Result<ProfileReport> ProfileGraphOnTarget(const Graph& g, const std::string& target);

}  // namespace tml
