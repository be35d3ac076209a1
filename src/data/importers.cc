#include "data/importers.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "data/idx.h"
#include "data/image_io.h"
#include "data/wav.h"

namespace tml {

Result<std::vector<NewSample>> ReadIdxSamples(const std::string& images, const std::string& labels,
                                              const std::vector<std::string>& class_names,
                                              std::optional<Split> split) {
  TML_ASSIGN_OR_RETURN(IdxArray img, ReadIdx(images));
  TML_ASSIGN_OR_RETURN(IdxArray lab, ReadIdx(labels));
  if (img.type != IdxType::kUInt8 || (img.dims.size() != 3 && img.dims.size() != 4))
    return Status::Errorf("{}: expected uint8 images [N, H, W] or [N, H, W, C], got {} dims",
                          images, img.dims.size());
  if (lab.type != IdxType::kUInt8 || lab.dims.size() != 1)
    return Status::Errorf("{}: expected uint8 labels [N], got {} dims", labels, lab.dims.size());
  if (lab.dims[0] != img.dims[0])
    return Status::Errorf("{} has {} images but {} has {} labels", images, img.dims[0], labels,
                          lab.dims[0]);
  const int64_t n = img.dims[0];
  std::vector<int64_t> shape;
  for (size_t i = 1; i < img.dims.size(); ++i) shape.push_back(img.dims[i]);
  if (shape.size() == 2) shape.push_back(1);  // HWC
  const int64_t per = shape[0] * shape[1] * shape[2];
  std::vector<NewSample> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int label = lab.bytes[static_cast<size_t>(i)];
    if (!class_names.empty() && label >= static_cast<int>(class_names.size()))
      return Status::Errorf("{}: label {} of item {} has no class name ({} names given)", labels,
                            label, i, class_names.size());
    NewSample& s = out[static_cast<size_t>(i)];
    s.bytes.assign(reinterpret_cast<const char*>(img.bytes.data()) + i * per,
                   static_cast<size_t>(per));
    s.kind = "image";
    s.shape = shape;
    s.dtype = "uint8";
    s.source = images + "#" + std::to_string(i);
    s.label = class_names.empty() ? std::to_string(label) : class_names[static_cast<size_t>(label)];
    s.split = split;
  }
  return out;
}

Status CheckFormat(const SampleFormat& f) {
  if (f.width <= 0 || f.height <= 0 || f.width > 4096 || f.height > 4096 ||
      (f.channels != 1 && f.channels != 3))
    return Status::Errorf("image size {}x{}x{} is not supported (1..4096, 1 or 3 channels)",
                          f.height, f.width, f.channels);
  if (f.rate < 1000 || f.rate > 192000 || !(f.seconds > 0 && f.seconds <= 60))
    return Status::Errorf("audio at {} Hz for {} s is not supported (1-192 kHz, up to 60 s)",
                          f.rate, f.seconds);
  return Status::Ok();
}

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) { return std::tolower(c); });
  return s;
}

bool Supported(const std::string& ext) {
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".wav";
}

}  // namespace

Result<NewSample> ReadSampleFile(const std::string& path, const std::string& label,
                                 const SampleFormat& f, std::optional<Split> split) {
  const std::string ext = Lower(std::filesystem::path(path).extension().string());
  NewSample s;
  s.source = path;
  s.label = label;
  s.split = split;
  if (ext == ".wav") {
    TML_ASSIGN_OR_RETURN(Audio a, ReadWav(path));
    const int64_t n = static_cast<int64_t>(std::llround(f.rate * f.seconds));
    const std::vector<int16_t> x = FitLength(Resample(ToMono(a), a.rate, f.rate), n);
    s.bytes.assign(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(int16_t));
    s.kind = "audio";
    s.shape = {n};
    s.dtype = "int16";
    return s;
  }
  if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
    return Status::Errorf("{}: unsupported file type '{}' (PNG, JPEG, WAV)", path, ext);
  TML_ASSIGN_OR_RETURN(Image im, ReadImage(path));
  const Image ready = ResizeImage(ToChannels(im, f.channels), f.width, f.height);
  s.bytes.assign(ready.pixels.begin(), ready.pixels.end());
  s.kind = "image";
  s.shape = {f.height, f.width, f.channels};
  s.dtype = "uint8";
  return s;
}

Result<FileImport> ReadClassFolders(const std::string& root, const SampleFormat& f,
                                    std::optional<Split> split) {
  namespace fs = std::filesystem;
  TML_RETURN_IF_ERROR(CheckFormat(f));
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Status::Errorf("{}: not a directory", root);
  FileImport out;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory()) out.classes.push_back(e.path().filename().string());
  if (ec) return Status::Errorf("{}: {}", root, ec.message());
  std::sort(out.classes.begin(), out.classes.end(), NaturalLess);
  if (out.classes.empty())
    return Status::Errorf("{}: no class subfolders (expected ROOT/CLASS/file.png)", root);
  for (const std::string& cls : out.classes) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(fs::path(root) / cls, ec))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
      if (!Supported(Lower(p.extension().string()))) {
        ++out.skipped;
        continue;
      }
      TML_ASSIGN_OR_RETURN(NewSample s, ReadSampleFile(p.string(), cls, f, split));
      out.samples.push_back(std::move(s));
    }
  }
  if (out.samples.empty())
    return Status::Errorf("{}: no PNG, JPEG or WAV files in the class folders", root);
  return out;
}

namespace {

// Splits one CSV line into fields ("a","b, c" -> a | b, c); false on an open quote.
bool CsvFields(const std::string& line, std::vector<std::string>* out) {
  out->clear();
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
        cur.push_back('"'), ++i;
      else if (c == '"')
        quoted = false;
      else
        cur.push_back(c);
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out->push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur.push_back(c);
    }
  }
  out->push_back(cur);
  return !quoted;
}

}  // namespace

Result<FileImport> ReadLabelFile(const std::string& path, const SampleFormat& f,
                                 std::optional<Split> split) {
  namespace fs = std::filesystem;
  TML_RETURN_IF_ERROR(CheckFormat(f));
  std::ifstream in(path);
  if (!in) return Status::Errorf("{}: cannot open", path);
  const fs::path dir = fs::path(path).parent_path();
  std::vector<std::pair<std::string, std::string>> entries;  // file, label
  std::vector<std::string> where;
  if (Lower(fs::path(path).extension().string()) == ".json") {
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) return Status::Errorf("{}: not valid JSON", path);
    if (j.is_object()) {
      for (const auto& [file, label] : j.items()) {
        if (!label.is_string())
          return Status::Errorf("{}: entry '{}': the label must be a string", path, file);
        entries.emplace_back(file, label.get<std::string>());
        where.push_back(fmt::format("{}: entry '{}'", path, file));
      }
    } else if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) {
        const auto& e = j[i];
        if (!e.is_object() || !e.contains("file") || !e["file"].is_string() ||
            !e.contains("label") || !e["label"].is_string())
          return Status::Errorf("{}: entry {}: expected {{\"file\": ..., \"label\": ...}}", path,
                                i);
        entries.emplace_back(e["file"].get<std::string>(), e["label"].get<std::string>());
        where.push_back(fmt::format("{}: entry {}", path, i));
      }
    } else {
      return Status::Errorf("{}: expected a JSON array or object", path);
    }
  } else {
    std::string line;
    std::vector<std::string> fields;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.empty() || line == "\r") continue;
      if (!CsvFields(line, &fields)) return Status::Errorf("{}:{}: unclosed quote", path, n);
      if (fields.size() != 2)
        return Status::Errorf("{}:{}: expected 2 fields (file,label), got {}", path, n,
                              fields.size());
      if (n == 1 && Lower(fields[0]) == "file" && Lower(fields[1]) == "label") continue;
      if (fields[0].empty() || fields[1].empty())
        return Status::Errorf("{}:{}: empty file or label", path, n);
      entries.emplace_back(fields[0], fields[1]);
      where.push_back(fmt::format("{}:{}", path, n));
    }
  }
  if (entries.empty()) return Status::Errorf("{}: no entries", path);
  FileImport out;
  std::set<std::string, decltype(&NaturalLess)> classes(&NaturalLess);
  for (size_t i = 0; i < entries.size(); ++i) {
    const fs::path file = fs::path(entries[i].first).is_absolute() ? fs::path(entries[i].first)
                                                                   : dir / entries[i].first;
    auto s = ReadSampleFile(file.string(), entries[i].second, f, split);
    if (!s.ok()) return s.status().Wrap(where[i]);
    out.samples.push_back(std::move(s).value());
    classes.insert(entries[i].second);
  }
  out.classes.assign(classes.begin(), classes.end());
  return out;
}

}  // namespace tml
