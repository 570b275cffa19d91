#include "model/interp/AttributionPatching.h"

#include "model/Error.h"

#include <torch/torch.h>

namespace prisma::interp {

namespace {

// Without a reducer a cell is whatever the setter writes: patch a copy of the corrupted
// activation with that one cell and sum the product over what changed.
torch::Tensor reduceBySetter(const PatchComponent& component, int64_t layer, const torch::Tensor& clean,
                             const torch::Tensor& corrupt, const torch::Tensor& grad) {
  std::vector<int64_t> rest(component.shape.begin() + 1, component.shape.end());
  torch::Tensor out = torch::zeros(rest);
  torch::Tensor flat = out.view({-1});
  int64_t i = 0;
  for (const auto& cell : component.cells()) {
    if (cell[0] != layer) continue;
    torch::Tensor patched = corrupt.clone();
    component.setter(patched, 0, clean, cell);
    flat[i++] = ((patched - corrupt) * grad).sum();
  }
  return out;
}

}  // namespace

torch::Tensor attributionFromCaches(const PatchComponent& component, const ActivationCache& clean,
                                    const ActivationCache& corrupt, const ActivationCache& grads) {
  torch::NoGradGuard no_grad;
  const int64_t L = component.shape.front();
  std::vector<torch::Tensor> rows;  // one per layer, [the other axes]
  for (int64_t l = 0; l < L; ++l) {
    const std::string hook = component.hook_name(l);
    const torch::Tensor& c = clean[hook];
    const torch::Tensor& k = corrupt[hook];
    const torch::Tensor& g = grads[hook];
    if (c.size(0) != 1 || k.size(0) != 1)
      throw Error("attribution patching", hook, "expected caches of single images");
    rows.push_back(component.reduce ? component.reduce((c - k) * g) : reduceBySetter(component, l, c, k, g));
  }
  return torch::stack(rows).to(torch::kFloat32).reshape(component.shape);
}

std::vector<torch::Tensor> attributionPatch(HookedViTImpl& model, const PatchingPair& pair,
                                            const std::vector<PatchComponent>& components,
                                            const Metric& metric) {
  const NameFilter filter = hooksOf(components, model.cfg());
  auto run = model.run_with_cache_and_grads(
      pair.corrupt_input, [&metric](const torch::Tensor& logits) { return metric(logits).sum(); }, filter);
  std::vector<torch::Tensor> out;
  for (const auto& c : components) out.push_back(attributionFromCaches(c, pair.clean, run.cache, run.grads));
  return out;
}

torch::Tensor attributionPatch(HookedViTImpl& model, const PatchingPair& pair,
                               const PatchComponent& component, const Metric& metric) {
  return attributionPatch(model, pair, std::vector<PatchComponent>{component}, metric).front();
}

}  // namespace prisma::interp
