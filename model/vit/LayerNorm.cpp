#include "model/vit/LayerNorm.h"

#include <torch/torch.h>

namespace prisma {

LayerNormImpl::LayerNormImpl(int d_model, double eps, bool with_weights) : eps_(eps) {
  if (with_weights) {
    w = register_parameter("w", torch::ones({d_model}));
    b = register_parameter("b", torch::zeros({d_model}));
  }
  hook_scale = register_module("hook_scale", HookPoint());
  hook_normalized = register_module("hook_normalized", HookPoint());
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input - input.mean(-1, /*keepdim=*/true);
  torch::Tensor scale = hook_scale((x.pow(2).mean(-1, /*keepdim=*/true) + eps_).sqrt());
  x = x / scale;
  if (has_weights()) x = x * w + b;
  return hook_normalized(x);
}

}  // namespace prisma
