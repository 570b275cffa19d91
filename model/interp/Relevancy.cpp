#include "model/interp/Relevancy.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"

#include <torch/torch.h>

namespace prisma::interp {

torch::Tensor relevancyFromGradients(const std::vector<torch::Tensor>& patterns,
                                     const std::vector<torch::Tensor>& gradients) {
  if (patterns.empty() || patterns.size() != gradients.size())
    throw Error("relevancy", "patterns", "need one gradient per layer's pattern");
  torch::NoGradGuard no_grad;
  const int64_t B = patterns.front().size(0), T = patterns.front().size(2);
  torch::Tensor R = torch::eye(T, torch::kFloat64).expand({B, T, T}).clone();
  for (size_t l = 0; l < patterns.size(); ++l) {
    const torch::Tensor A = patterns[l].to(torch::kFloat64), G = gradients[l].to(torch::kFloat64);
    if (!A.sizes().equals(G.sizes())) throw Error("relevancy", "gradients", "shape differs from the pattern's");
    const torch::Tensor cam = (G * A).clamp_min(0).mean(1);  // [batch, T, T]
    R = R + torch::bmm(cam, R);
  }
  return R.to(torch::kFloat32);
}

torch::Tensor gradientRelevancy(HookedViTImpl& model, const torch::Tensor& pixels, int target_class) {
  const ViTConfig& cfg = model.cfg();
  if (target_class < 0 || target_class >= cfg.n_classes)
    throw Error("relevancy", "class", std::to_string(target_class) + " out of range [0, " +
                                          std::to_string(cfg.n_classes) + ")");
  // Images do not interact, so the gradient of the sum is each image's own gradient.
  auto run = model.run_with_cache_and_grads(
      pixels, [target_class](const torch::Tensor& logits) { return logits.select(1, target_class).sum(); },
      filters::regex({"attn\\.hook_pattern$"}));
  std::vector<torch::Tensor> patterns, grads;
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string name = hookName(l, "attn.hook_pattern");
    patterns.push_back(run.cache[name]);
    grads.push_back(run.grads[name]);
  }
  return relevancyFromGradients(patterns, grads);
}

}  // namespace prisma::interp
