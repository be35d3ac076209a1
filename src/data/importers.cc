#include "data/importers.h"

#include "data/idx.h"

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

}  // namespace tml
