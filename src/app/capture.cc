#include "app/capture.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "app/deploy.h"
#include "fleet/agent.h"
#include "formats/import.h"
#include "package/package.h"

namespace tml {

namespace {

using nlohmann::json;

struct Captured {
  int64_t model_version = 0, top_class = -1, sample = 0;
  double confidence = 0;
  std::vector<uint8_t> bytes;
};

// What a device's active model takes: its package's first input, and the model artifact.
struct DeviceModel {
  PackageTensor input;
  std::string model_artifact;
  int64_t version = 0;
};

Result<DeviceModel> ModelOf(MetaStore& db, const DeviceRecord& d) {
  TML_ASSIGN_OR_RETURN(auto active, ActiveDeployment(db, d));
  if (!active)
    return Status::FailedPrecondition(
        "capture: {}'s active model was not deployed from this workspace, so its input "
        "encoding is unknown (deploy it first)",
        d.id);
  TML_ASSIGN_OR_RETURN(ArtifactRecord pkg, db.GetArtifact(active->package));
  TML_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(pkg.path));
  TML_ASSIGN_OR_RETURN(PackageInfo info, InspectPackage(bytes));
  if (info.inputs.size() != 1)
    return Status::FailedPrecondition("capture: {}'s model has {} inputs; one is supported", d.id,
                                      info.inputs.size());
  return DeviceModel{info.inputs[0], active->model, active->version};
}

// The model's input bytes as the dataset keeps samples: dequantized, then uint8 (x*255)
// or float32.
std::string Decode(const PackageTensor& in, const std::vector<uint8_t>& bytes, bool as_uint8) {
  const size_t n = in.dtype == DType::kFloat32 ? bytes.size() / 4 : bytes.size();
  std::string out;
  out.reserve(as_uint8 ? n : n * 4);
  for (size_t i = 0; i < n; ++i) {
    float x;
    if (in.dtype == DType::kFloat32)
      std::memcpy(&x, bytes.data() + 4 * i, 4);
    else
      x = static_cast<float>(static_cast<int32_t>(static_cast<int8_t>(bytes[i])) - in.zero_point) *
          (in.scale > 0 ? in.scale : 1.0f);
    if (as_uint8) {
      out +=
          static_cast<char>(static_cast<uint8_t>(std::clamp(std::round(x * 255.0f), 0.0f, 255.0f)));
    } else {
      char b[4];
      std::memcpy(b, &x, 4);
      out.append(b, 4);
    }
  }
  return out;
}

}  // namespace

Result<CaptureOutcome> Capture(Workspace& ws, const CaptureRequest& q, Progress& progress) {
  MetaStore& db = *ws.db;
  if (q.dataset.empty()) return Status::Error("capture: a dataset name is needed (--dataset)");
  if (q.devices.empty() == q.group.empty())
    return Status::Error("capture: name devices (--device ID) or a group (--group G), not both");
  if (q.count <= 0) return Status::Error("capture: --count must be at least 1");
  std::mutex mu;
  std::map<std::string, std::vector<Captured>> got;
  ControlOptions o = q.broker;
  o.on_device_message = [&](const std::string& device, const std::string& leaf, const json& b) {
    if (leaf != "capture" || !b.contains("bytes") || !b["bytes"].is_string()) return;
    Captured c;
    if (!ParseHexBytes(b["bytes"].get<std::string>(), &c.bytes)) return;
    c.model_version = b.value("model_version", int64_t{0});
    c.top_class = b.value("class", int64_t{-1});
    c.confidence = b.value("confidence", 0.0);
    c.sample = b.value("sample", int64_t{0});
    std::lock_guard<std::mutex> l(mu);
    got[device].push_back(std::move(c));
  };
  o.extra_leaves = {"capture"};
  TML_ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(o));
  TML_RETURN_IF_ERROR(cp->Sync(db).status());
  std::vector<DeviceRecord> targets;
  if (!q.group.empty()) {
    TML_ASSIGN_OR_RETURN(auto all, db.ListDevices(q.group));
    for (auto& d : all)
      if (d.online) targets.push_back(std::move(d));
    if (targets.empty())
      return Status::NotFound("capture: no online device in group '{}'", q.group);
  } else {
    for (const std::string& id : q.devices) {
      TML_ASSIGN_OR_RETURN(DeviceRecord d, db.GetDevice(id));
      targets.push_back(std::move(d));
    }
  }
  // How the dataset keeps its samples (uint8 images, or float32).
  std::vector<std::string> classes;
  bool as_uint8 = false;
  int64_t parent_version = 0;
  if (auto v = db.GetVersion(q.dataset, 0); v.ok()) {
    classes = v->classes;
    parent_version = v->number;
    TML_ASSIGN_OR_RETURN(auto shapes, db.ShapeCounts(v->id));
    as_uint8 = !shapes.empty() && shapes[0].first.size() > 6 &&
               shapes[0].first.substr(shapes[0].first.size() - 6) == " uint8";
  }

  CaptureOutcome out;
  std::vector<NewSample> samples;
  std::set<std::string> models;
  std::vector<std::string> parents;
  for (const DeviceRecord& d : targets) {
    TML_ASSIGN_OR_RETURN(DeviceModel m, ModelOf(db, d));
    progress.Log(fmt::format("{}: sensing {} samples, capturing those below confidence {}", d.id,
                             q.count, q.below));
    const std::string req = json{{"count", q.count}, {"capture_below", q.below}}.dump();
    TML_ASSIGN_OR_RETURN(
        json ev,
        cp->Command(d.id, "sense", std::vector<uint8_t>(req.begin(), req.end()), q.timeout_ms));
    if (!ev.value("ok", false))
      return Status::FailedPrecondition("capture: {}: {}", d.id,
                                        ev.value("error", std::string("sense failed")));
    std::vector<Captured> mine;
    {
      std::lock_guard<std::mutex> l(mu);
      mine = std::move(got[d.id]);
    }
    Shape shape = m.input.shape;
    if (shape.size() > 1 && shape[0] == 1) shape.erase(shape.begin());
    for (const Captured& c : mine) {
      if (static_cast<int64_t>(c.bytes.size()) != m.input.bytes) continue;  // not this model's
      NewSample s;
      s.bytes = Decode(m.input, c.bytes, as_uint8);
      s.kind = shape.size() == 3 ? "image" : "tensor";
      s.shape.assign(shape.begin(), shape.end());
      s.dtype = as_uint8 ? "uint8" : "float32";
      s.source = fmt::format("device:{} v{} sample {}", d.id, c.model_version, c.sample);
      if (q.label_by_model && c.top_class >= 0) {
        s.label = static_cast<size_t>(c.top_class) < classes.size()
                      ? classes[static_cast<size_t>(c.top_class)]
                      : std::to_string(c.top_class);
        s.confidence = c.confidence;
      }
      samples.push_back(std::move(s));
    }
    out.per_device.emplace_back(d.id, static_cast<int64_t>(mine.size()));
    models.insert(m.model_artifact);
    TML_RETURN_IF_ERROR(db.PutArtifact({"device:" + d.id, "device", d.id, "", "{}", {}, 0}));
    parents.push_back("device:" + d.id);
  }
  if (samples.empty())
    return Status::NotFound("capture: the devices captured nothing below confidence {}", q.below);
  const std::string author =
      q.label_by_model && models.size() == 1 ? "model:" + *models.begin() : "capture";
  std::string note = fmt::format("captured from {} device(s)", targets.size());
  if (q.below < 1e8) note += fmt::format(" below confidence {}", q.below);
  TML_ASSIGN_OR_RETURN(out.report, ImportSamples(ws, q.dataset, samples, SplitFractions{}, note,
                                                 classes, q.label_by_model ? author : "capture"));
  for (const std::string& m : models) parents.push_back(m);
  if (parent_version > 0) {
    const std::string prev = fmt::format("{}@{}", q.dataset, parent_version);
    TML_RETURN_IF_ERROR(
        db.PutArtifact({"dataset:" + prev, "dataset version", prev, "", "{}", {}, 0}));
    parents.push_back("dataset:" + prev);
  }
  const std::string name = fmt::format("{}@{}", q.dataset, out.report.version.number);
  out.version_artifact = "dataset:" + name;
  TML_RETURN_IF_ERROR(db.PutArtifact({out.version_artifact, "dataset version", name, "",
                                      json{{"classes", out.report.version.classes},
                                           {"members", out.report.version.members},
                                           {"note", note},
                                           {"captured", out.report.added}}
                                          .dump(),
                                      parents, 0}));
  progress.Log(fmt::format("{}: {} new samples ({} seen before)", name, out.report.added,
                           out.report.duplicates));
  return out;
}

}  // namespace tml
