#include "data/importers.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "data/idx.h"
#include "data/image_io.h"

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

Result<FolderImport> ReadImageFolder(const std::string& root, int width, int height, int channels,
                                     std::optional<Split> split) {
  namespace fs = std::filesystem;
  if (width <= 0 || height <= 0 || width > 4096 || height > 4096 ||
      (channels != 1 && channels != 3))
    return Status::Errorf("image size {}x{}x{} is not supported (1..4096, 1 or 3 channels)", height,
                          width, channels);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Status::Errorf("{}: not a directory", root);
  FolderImport out;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory()) out.classes.push_back(e.path().filename().string());
  if (ec) return Status::Errorf("{}: {}", root, ec.message());
  std::sort(out.classes.begin(), out.classes.end(), NaturalLess);
  if (out.classes.empty())
    return Status::Errorf("{}: no class subfolders (expected ROOT/CLASS/image.png)", root);
  for (const std::string& cls : out.classes) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(fs::path(root) / cls, ec))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      std::string ext = f.extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](char c) { return std::tolower(c); });
      if (ext != ".png" && ext != ".jpg" && ext != ".jpeg") {
        ++out.skipped;
        continue;
      }
      TML_ASSIGN_OR_RETURN(Image im, ReadImage(f.string()));
      const Image ready = ResizeImage(ToChannels(im, channels), width, height);
      NewSample s;
      s.bytes.assign(ready.pixels.begin(), ready.pixels.end());
      s.kind = "image";
      s.shape = {height, width, channels};
      s.dtype = "uint8";
      s.source = f.string();
      s.label = cls;
      s.split = split;
      out.samples.push_back(std::move(s));
    }
  }
  if (out.samples.empty())
    return Status::Errorf("{}: no PNG or JPEG files in the class folders", root);
  return out;
}

}  // namespace tml
