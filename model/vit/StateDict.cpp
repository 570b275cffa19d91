#include "model/vit/StateDict.h"

#include "model/Error.h"
#include "model/vit/HookedViT.h"

#include <torch/torch.h>

namespace prisma {

std::string shapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string shapeString(const torch::Tensor& t) { return shapeString(t.sizes().vec()); }

StateDict stateDict(const HookedViTImpl& model) {
  StateDict out;
  for (const auto& item : model.named_parameters()) out[item.key()] = item.value().detach();
  return out;
}

void loadStateDict(HookedViTImpl& model, const StateDict& tensors, const std::string& source) {
  auto params = model.named_parameters();
  for (const auto& [name, t] : tensors)
    if (!params.contains(name)) throw Error(source, name, "unexpected tensor: the config has no such parameter");
  torch::NoGradGuard no_grad;
  for (auto& item : params) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) throw Error(source, item.key(), "missing tensor");
    if (!it->second.sizes().equals(item.value().sizes()))
      throw Error(source, item.key(), "has shape " + shapeString(it->second) + " but the config implies " +
                                          shapeString(item.value()));
    if (!it->second.is_floating_point())
      throw Error(source, item.key(), "is not a floating-point tensor");
    item.value().copy_(it->second);
  }
}

void loadStateDict(HookedViTImpl& model, StateDict&& tensors, const std::string& source) {
  auto params = model.named_parameters();
  // Check everything before copying anything, so a bad file leaves the model untouched.
  for (const auto& [name, t] : tensors)
    if (!params.contains(name)) throw Error(source, name, "unexpected tensor: the config has no such parameter");
  for (const auto& item : params) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) throw Error(source, item.key(), "missing tensor");
    if (!it->second.sizes().equals(item.value().sizes()))
      throw Error(source, item.key(), "has shape " + shapeString(it->second) + " but the config implies " +
                                          shapeString(item.value()));
    if (!it->second.is_floating_point()) throw Error(source, item.key(), "is not a floating-point tensor");
  }
  torch::NoGradGuard no_grad;
  for (auto& item : params) {
    auto it = tensors.find(item.key());
    item.value().copy_(it->second);
    tensors.erase(it);
  }
}

}  // namespace prisma
