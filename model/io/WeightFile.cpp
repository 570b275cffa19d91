// Named tensors of a weight file with shape checks and leftover reporting (WeightFile.h).

#include "model/io/WeightFile.h"

#include "model/Error.h"
#include "model/io/SafeTensors.h"
#include "model/io/TorchArchive.h"
#include "model/io/WeightStorage.h"

#include <torch/torch.h>

namespace prisma::io {

WeightFile WeightFile::open(const std::string& path, std::vector<std::string>& notes) {
  WeightFile src;
  src.path_ = path;
  // A legacy (non-zip) torch.save goes to TorchArchive too, which says what it is.
  if (looksLikeTorchSave(path)) {
    TorchArchive archive(path);
    for (auto& [name, t] : archive.modelStateDict(notes)) {
      src.items_[name] = {t.sizes().vec(), [t = t] { return t; }};
    }
    return src;
  }
  // Safetensors reads lazily: a tensor is only viewed when a converter takes it.
  auto file = std::make_shared<SafeTensorsFile>(path);
  for (const auto& name : weightNames(*file))
    src.items_[name] = {file->entry(name).shape, [file, name] { return readFloatWeight(*file, name); }};
  return src;
}

WeightFile::WeightFile(std::string path, StateDict tensors) : path_(std::move(path)) {
  for (auto& [name, t] : tensors) items_[name] = {t.sizes().vec(), [t = t] { return t; }};
}

std::vector<std::string> WeightFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, item] : items_) out.push_back(name);
  return out;
}

bool WeightFile::hasPrefix(const std::string& prefix) const {
  auto it = items_.lower_bound(prefix);
  return it != items_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

std::vector<int64_t> WeightFile::shape(const std::string& name) const {
  auto it = items_.find(name);
  if (it == items_.end()) throw Error(path_, name, "missing tensor");
  return it->second.shape;
}

int WeightFile::dim(const std::string& name, size_t axis) const {
  constexpr int64_t kMaxDimension = int64_t(1) << 24;  // far beyond any ViT width or class count
  const auto s = shape(name);
  if (axis >= s.size()) throw Error(path_, name, "has " + std::to_string(s.size()) + " dimensions, expected more");
  if (s[axis] <= 0 || s[axis] > kMaxDimension)
    throw Error(path_, name, "size " + std::to_string(s[axis]) + " of dimension " + std::to_string(axis) +
                                 " is not a plausible model size");
  return static_cast<int>(s[axis]);
}

torch::Tensor WeightFile::take(const std::string& name, const std::vector<int64_t>& expected) {
  const auto actual = shape(name);
  if (actual != expected)
    throw Error(path_, name, "has shape " + shapeString(actual) + " but " + implied_by_ + " implies " +
                                 shapeString(expected));
  return take(name);
}

torch::Tensor WeightFile::take(const std::string& name) {
  auto it = items_.find(name);
  if (it == items_.end()) throw Error(path_, name, "missing tensor");
  torch::Tensor t = it->second.load();
  if (!t.is_floating_point()) throw Error(path_, name, "is not a floating-point tensor");
  used_.insert(name);
  return t.to(torch::kFloat32);
}

void WeightFile::skipPrefix(const std::string& prefix) {
  for (auto it = items_.lower_bound(prefix); it != items_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    used_.insert(it->first);
}

void WeightFile::checkAllUsed() const {
  for (const auto& [name, item] : items_)
    if (!used_.count(name)) throw Error(path_, name, "unexpected tensor for this architecture");
}

WeightFile WeightFile::openCheckpoint(const std::string& path, std::string implied_by, std::vector<std::string>& notes) {
  WeightFile src = open(path, notes);
  if (src.stripPrefix("module.")) notes.push_back("dropped the 'module.' prefix (a DataParallel checkpoint)");
  src.setImpliedBy(std::move(implied_by));
  return src;
}

bool WeightFile::stripPrefix(const std::string& prefix) {
  std::map<std::string, Item> renamed;
  bool any = false;
  for (auto& [name, item] : items_) {
    const bool strip = name.compare(0, prefix.size(), prefix) == 0 && name.size() > prefix.size();
    any = any || strip;
    std::string key = strip ? name.substr(prefix.size()) : name;
    if (renamed.count(key)) throw Error(path_, name, "clashes with '" + key + "' once '" + prefix + "' is dropped");
    renamed[key] = std::move(item);
  }
  items_ = std::move(renamed);
  return any;
}

}  // namespace prisma::io
