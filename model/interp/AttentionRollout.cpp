#include "model/interp/AttentionRollout.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"

#include <torch/torch.h>

namespace prisma::interp {

namespace {

torch::Tensor fuse(const torch::Tensor& pattern, HeadFusion fusion) {  // [B, H, T, T] -> [B, T, T]
  switch (fusion) {
    case HeadFusion::Mean: return pattern.mean(1);
    case HeadFusion::Max: return std::get<0>(pattern.max(1));
    case HeadFusion::Min: return std::get<0>(pattern.min(1));
  }
  return pattern.mean(1);
}

// Zeroes the smallest `ratio` of each item's entries except (0, 0), as vit-explain does.
torch::Tensor discardLowest(torch::Tensor fused, double ratio) {  // [B, T, T]
  const int64_t B = fused.size(0), n = fused.size(1) * fused.size(2);
  const int64_t k = static_cast<int64_t>(n * ratio);
  if (k <= 0) return fused;
  torch::Tensor flat = fused.reshape({B, n}).clone();
  torch::Tensor keep0 = flat.select(1, 0).clone();
  torch::Tensor lowest = std::get<1>(flat.topk(k, 1, /*largest=*/false));
  flat.scatter_(1, lowest, 0.0);
  flat.select(1, 0).copy_(keep0);
  return flat.view_as(fused);
}

}  // namespace

torch::Tensor attentionRollout(const std::vector<torch::Tensor>& patterns, const RolloutOptions& options) {
  if (patterns.empty()) throw Error("rollout", "patterns", "no layers");
  if (options.discard_ratio < 0 || options.discard_ratio >= 1)
    throw Error("rollout", "discard_ratio", "must be in [0, 1)");
  torch::NoGradGuard no_grad;
  const torch::Tensor& first = patterns.front();
  if (first.dim() != 4 || first.size(2) != first.size(3))
    throw Error("rollout", "pattern", "expected [batch, head, tokens, tokens]");
  const int64_t B = first.size(0), T = first.size(2);
  // Accumulate in float64: a product of many stochastic matrices loses float32 digits.
  const torch::Tensor eye = torch::eye(T, torch::kFloat64).expand({B, T, T});
  torch::Tensor rollout = eye.clone();
  const double w = options.residual_weight;
  for (const auto& pattern : patterns) {
    if (!pattern.sizes().equals(first.sizes())) throw Error("rollout", "pattern", "layers disagree in shape");
    torch::Tensor a = fuse(pattern.to(torch::kFloat64), options.fusion);  // [B, T, T]
    a = discardLowest(a, options.discard_ratio);
    a = (1.0 - w) * a + w * eye;
    a = a / a.sum(-1, /*keepdim=*/true);  // each row by its own sum
    rollout = torch::bmm(a, rollout);     // later layers multiply on the left
  }
  return rollout.to(torch::kFloat32);
}

torch::Tensor attentionRollout(const ActivationCache& cache, const ViTConfig& cfg, const RolloutOptions& options) {
  std::vector<torch::Tensor> patterns;
  for (int l = 0; l < cfg.n_layers; ++l)
    patterns.push_back(cache[hookName(l, "attn.hook_pattern")]);
  return attentionRollout(patterns, options);
}

}  // namespace prisma::interp
