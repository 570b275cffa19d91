#pragma once
// The tensors of one weight file by name, whatever its format (safetensors, or a
// torch.save archive read by the restricted unpickler), with the bookkeeping every
// converter needs: each tensor's shape is checked against what the config implies, and
// a tensor nobody asked for is reported -- it means an architecture the converter does
// not understand, which must not load silently with a part missing.

#include "model/vit/StateDict.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace prisma::io {

// What implies the expected shapes when a ViT's config is inferred from the weights
// themselves (no config file): the patch and position embeddings.
inline constexpr const char* kShapesFromEmbeddings = "the shape inferred from pos_embed and patch_embed";

class WeightFile {
public:
  // A .safetensors file, or a torch.save archive (.bin / .pth / .pt; told apart by
  // content). For archives, the model's entry of a training checkpoint is used and
  // `notes` says so.
  static WeightFile open(const std::string& path, std::vector<std::string>& notes);
  // open() for a training-script checkpoint (timm, torch hub): a DataParallel run saves
  // every name under "module.", which is dropped (and noted); shape errors then name
  // `implied_by` as what implied the expected shape.
  static WeightFile openCheckpoint(const std::string& path, std::string implied_by, std::vector<std::string>& notes);
  WeightFile(std::string path, StateDict tensors);

  const std::string& path() const { return path_; }
  // What shape errors say implied the expected shape (e.g. the config.json path).
  void setImpliedBy(std::string what) { implied_by_ = std::move(what); }

  std::vector<std::string> names() const;
  bool has(const std::string& name) const { return items_.count(name) != 0; }
  bool hasPrefix(const std::string& prefix) const;
  std::vector<int64_t> shape(const std::string& name) const;  // throws when missing
  // Size `axis` of a tensor, for configs inferred from shapes: throws when the axis is
  // missing or the size is 0 or too large to be a real model's (a hostile header).
  int dim(const std::string& name, size_t axis) const;

  // The tensor as float32 after checking its shape; marks it used.
  torch::Tensor take(const std::string& name, const std::vector<int64_t>& shape);
  torch::Tensor take(const std::string& name);  // any shape
  // Marks tensors as known and deliberately unused (e.g. CLIP's text tower).
  void skipPrefix(const std::string& prefix);
  // Throws prisma::Error naming the first tensor nobody took.
  void checkAllUsed() const;

  // Drops `prefix` from every name that starts with it; true when any did.
  bool stripPrefix(const std::string& prefix);

private:
  struct Item {
    std::vector<int64_t> shape;
    std::function<torch::Tensor()> load;
  };
  WeightFile() = default;

  std::string path_;
  std::string implied_by_ = "the config";
  std::map<std::string, Item> items_;
  std::set<std::string> used_;
};

}  // namespace prisma::io
