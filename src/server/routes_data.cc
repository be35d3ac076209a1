// Datasets: list, create, versions, stats.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "core/scratch_dir.h"
#include "data/boxes.h"
#include "data/dataset_json.h"
#include "data/image_io.h"
#include "data/importers.h"
#include "server/api.h"
#include "server/schemas.h"
#include "store/record_json.h"

namespace tml {
namespace {

using json = nlohmann::json;

const json kName = {{"type", "string"}, {"pattern", "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"}};

Result<int> VersionNumber(const std::string& text) {
  if (text == "latest") return 0;
  try {
    size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  return Status::Errorf("version '{}': a positive number or 'latest'", text);
}

const json kLabel = {{"type", "string"}, {"minLength", 1}, {"maxLength", 64}};

bool ValidLabel(const std::string& l) {
  return !l.empty() && l.size() <= 64 && l.find_first_of("\n\r\t") == std::string::npos;
}

// Uploaded images (PNG or JPEG) as samples in the dataset's format; the bytes go
// through the same importer as class folders, via a private scratch directory.
ApiResponse Upload(ApiContext& c, const ApiRequest& q) {
  const std::string& name = q.path.at("name");
  if (!std::regex_match(name, std::regex(kName["pattern"].get<std::string>())))
    return ApiError(400, "name: letters, digits, '_', '.', '-'");
  if (q.files.empty()) return ApiError(400, "no files: send one or more 'files' parts");
  if (q.files.size() > 1000) return ApiError(400, "at most 1000 files per upload");
  SampleFormat f;
  const std::string size = q.form.count("size") ? q.form.at("size") : "28x28";
  if (std::sscanf(size.c_str(), "%dx%d", &f.height, &f.width) != 2 || !CheckFormat(f).ok())
    return ApiError(400, fmt::format("size '{}': HEIGHTxWIDTH", size));
  if (q.form.count("channels")) f.channels = std::atoi(q.form.at("channels").c_str());
  if (Status st = CheckFormat(f); !st.ok()) return ApiError(400, st.message());
  std::vector<std::string> labels;
  if (q.form.count("labels")) {
    const json l = json::parse(q.form.at("labels"), nullptr, false);
    if (!l.is_array() || l.size() != q.files.size())
      return ApiError(400, "labels: a JSON array with one label per file");
    for (const auto& x : l) labels.push_back(x.is_string() ? x.get<std::string>() : "");
  } else {
    labels.assign(q.files.size(), q.form.count("label") ? q.form.at("label") : "");
  }
  for (const std::string& l : labels)
    if (!l.empty() && !ValidLabel(l))
      return ApiError(400, fmt::format("label '{}': 1-64 characters, one line", l));
  ScratchDir dir("", "upload");
  std::filesystem::create_directories(dir.path());
  std::vector<NewSample> samples;
  for (size_t i = 0; i < q.files.size(); ++i) {
    const UploadedFile& u = q.files[i];
    // Only the extension of the client's file name is used, never its path.
    std::string ext = std::filesystem::path(u.filename).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
      return ApiError(400, fmt::format("{}: PNG or JPEG files only", u.filename));
    const std::string path = fmt::format("{}/{}{}", dir.path(), i, ext);
    std::ofstream(path, std::ios::binary) << u.content;
    auto s = ReadSampleFile(path, labels[i], f, std::nullopt);
    if (!s.ok())
      return ApiError(
          400, fmt::format("{}: {}", u.filename, s.status().message().substr(path.size() + 2)));
    s->source = "upload:" + std::filesystem::path(u.filename).filename().string();
    samples.push_back(std::move(*s));
  }
  WorkspacePool::Lease ws = c.pool.Acquire();
  auto rep = ImportSamples(*ws, name, samples, {}, fmt::format("upload by {}", q.user), {}, q.user);
  if (!rep.ok()) return FromStatus(rep.status());
  return Json({{"version", VersionJson(rep->version)},
               {"added", rep->added},
               {"duplicates", rep->duplicates}},
              201);
}

}  // namespace

void AddDataRoutes(std::vector<Route>& r) {
  Route list{"GET", "/api/datasets", "Every dataset with its latest version", "data"};
  list.handler = [](ApiContext& c, const ApiRequest&) {
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto ds = ws->db->ListDatasets();
    if (!ds.ok()) return FromStatus(ds.status());
    json out = json::array();
    for (const DatasetRecord& d : *ds) out.push_back(DatasetJson(d));
    return Json(out);
  };
  list.response = schema::Array(schema::Dataset());
  r.push_back(list);

  Route create{"POST", "/api/datasets", "Create an empty dataset", "data"};
  create.body = {{"type", "object"},
                 {"required", {"name"}},
                 {"additionalProperties", false},
                 {"properties", {{"name", kName}}}};
  create.success = 201;
  create.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string name = q.body["name"];
    WorkspacePool::Lease ws = c.pool.Acquire();
    bool created = false;
    auto made = ws->db->EnsureDataset(name, &created);
    if (!made.ok()) return FromStatus(made.status());
    if (!created) return ApiError(409, fmt::format("dataset '{}' exists", name));
    return Json(DatasetJson(*made), 201);
  };
  create.response = schema::Dataset();
  r.push_back(create);

  Route get{"GET", "/api/datasets/{name}", "A dataset's versions", "data"};
  get.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string& name = q.path.at("name");
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto ds = ws->db->ListDatasets();
    if (!ds.ok()) return FromStatus(ds.status());
    auto it = std::find_if(ds->begin(), ds->end(),
                           [&](const DatasetRecord& d) { return d.name == name; });
    if (it == ds->end()) return ApiError(404, fmt::format("no dataset '{}'", name));
    auto versions = ws->db->ListVersions(name);
    if (!versions.ok()) return FromStatus(versions.status());
    json v = json::array();
    for (const VersionRecord& x : *versions) v.push_back(VersionJson(x));
    json out = DatasetJson(*it);
    out["versions"] = v;
    return Json(out);
  };
  get.response = schema::DatasetDetail();
  r.push_back(get);

  Route stats{"GET", "/api/datasets/{name}/versions/{version}/stats",
              "Class balance per split, shapes, unlabeled samples of a version ('latest' works)",
              "data"};
  stats.handler = [](ApiContext& c, const ApiRequest& q) {
    auto v = VersionNumber(q.path.at("version"));
    if (!v.ok()) return ApiError(400, v.status().message());
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto s = ComputeStats(*ws, q.path.at("name"), *v);
    if (!s.ok()) return FromStatus(s.status());
    return Json(DatasetStatsJson(*s));
  };
  stats.response = schema::DatasetStats();
  r.push_back(stats);

  Route upload{"POST", "/api/datasets/{name}/samples",
               "Upload labeled images (PNG/JPEG) as a new version (the dataset is created if "
               "needed)",
               "data"};
  upload.consumes = "multipart/form-data";
  upload.body = {
      {"type", "object"},
      {"required", {"files"}},
      {"properties",
       {{"files", {{"type", "array"}, {"items", {{"type", "string"}, {"format", "binary"}}}}},
        {"label", {{"type", "string"}, {"description", "label of every file"}}},
        {"labels", {{"type", "string"}, {"description", "JSON array, a label per file"}}},
        {"size", {{"type", "string"}, {"description", "HEIGHTxWIDTH, default 28x28"}}},
        {"channels", {{"type", "string"}, {"description", "1 (grey, default) or 3"}}}}}};
  upload.success = 201;
  upload.handler = Upload;
  upload.response = schema::UploadResult();
  r.push_back(upload);

  Route samples{"GET", "/api/datasets/{name}/versions/{version}/samples",
                "A page of a version's samples with their labels and splits", "data"};
  samples.query = {
      {"offset", "first sample (default 0)", {{"type", "integer"}}},
      {"limit", "at most this many (default 100, at most 1000)", {{"type", "integer"}}},
      {"label", "only this label", {{"type", "string"}}}};
  samples.handler = [](ApiContext& c, const ApiRequest& q) {
    auto v = VersionNumber(q.path.at("version"));
    if (!v.ok()) return ApiError(400, v.status().message());
    const auto num = [&](const char* k, int64_t def) {
      return q.query.count(k) ? std::max<int64_t>(0, std::atoll(q.query.at(k).c_str())) : def;
    };
    const int64_t offset = num("offset", 0), limit = std::min<int64_t>(1000, num("limit", 100));
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto version = ws->db->GetVersion(q.path.at("name"), *v);
    if (!version.ok()) return FromStatus(version.status());
    auto members = ws->db->Members(version->id);
    if (!members.ok()) return FromStatus(members.status());
    json page = json::array();
    int64_t total = 0;
    for (const Member& m : *members) {
      if (q.query.count("label") && m.label != q.query.at("label")) continue;
      if (total >= offset && total < offset + limit)
        page.push_back({{"sample", m.sample},
                        {"label", m.label},
                        {"split", SplitName(m.split)},
                        {"boxes", BoxesJson(StoredBoxes(m.boxes))}});
      ++total;
    }
    return Json({{"version", VersionJson(*version)}, {"total", total}, {"samples", page}});
  };
  samples.response = schema::SamplePage();
  r.push_back(samples);

  Route relabel{"PATCH", "/api/datasets/{name}/samples/{sample}",
                "Relabel one sample, or set its bounding boxes (pixels of the image): a new "
                "version, recorded as an annotation by the user",
                "data"};
  const json box = {
      {"type", "object"},
      {"required", {"label", "box"}},
      {"additionalProperties", false},
      {"properties",
       {{"label", kLabel},
        {"box", {{"type", "array"}, {"items", {{"type", "integer"}}}, {"maxItems", 4}}}}}};
  relabel.body = {{"type", "object"},
                  {"additionalProperties", false},
                  {"properties",
                   {{"label", kLabel},
                    {"boxes", {{"type", "array"}, {"items", box}, {"maxItems", kMaxBoxes}}}}}};
  relabel.handler = [](ApiContext& c, const ApiRequest& q) {
    const bool has_label = q.body.contains("label"), has_boxes = q.body.contains("boxes");
    if (has_label == has_boxes) return ApiError(400, "body: a label or boxes, one of them");
    WorkspacePool::Lease ws = c.pool.Acquire();
    const std::string& name = q.path.at("name");
    const std::string& sample = q.path.at("sample");
    if (has_label) {
      const std::string label = q.body["label"];
      if (!ValidLabel(label)) return ApiError(400, "label: 1-64 characters, one line");
      auto v = Relabel(*ws, name, sample, label, q.user);
      if (!v.ok()) return FromStatus(v.status());
      return Json({{"version", VersionJson(*v)}});
    }
    auto rec = ws->db->GetSample(sample);
    if (!rec.ok()) return FromStatus(rec.status());
    if (rec->shape.size() != 3) return ApiError(400, "boxes: the sample is not an image");
    auto boxes = BoxesFromJson(q.body["boxes"], rec->shape[1], rec->shape[0]);
    if (!boxes.ok()) return ApiError(400, boxes.status().message());
    auto v = SetBoxes(*ws, name, sample, *boxes, q.user);
    if (!v.ok()) return FromStatus(v.status());
    return Json({{"version", VersionJson(*v)}});
  };
  relabel.response = schema::VersionOnly();
  r.push_back(relabel);

  Route image{"GET", "/api/samples/{id}/image.png", "An image sample as PNG (thumbnails)", "data"};
  image.produces = "image/png";
  image.handler = [](ApiContext& c, const ApiRequest& q) {
    const std::string& id = q.path.at("id");
    if (!std::regex_match(id, std::regex("[0-9a-f]{64}")))
      return ApiError(400, "id: a sample id (64 hex digits)");
    WorkspacePool::Lease ws = c.pool.Acquire();
    auto s = ws->db->GetSample(id);
    if (!s.ok()) return FromStatus(s.status());
    const SampleRecord rec = *s;
    if (rec.kind != "image" || rec.dtype != "uint8" || rec.shape.size() != 3)
      return ApiError(
          400, fmt::format("sample {} is {} ({}), not an 8-bit image", id, rec.kind, rec.dtype));
    auto bytes = ws->blobs.Get(id);
    if (!bytes.ok()) return FromStatus(bytes.status());
    Image im;
    im.height = static_cast<int>(rec.shape[0]);
    im.width = static_cast<int>(rec.shape[1]);
    im.channels = static_cast<int>(rec.shape[2]);
    im.pixels.assign(bytes->begin(), bytes->end());
    ScratchDir dir("", "thumb");
    std::filesystem::create_directories(dir.path());
    const std::string path = dir.path() + "/s.png";
    if (Status st = WritePng(path, im); !st.ok()) return FromStatus(st);
    return FileBody(path, "image/png");
  };
  r.push_back(image);
}

}  // namespace tml
