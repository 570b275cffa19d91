#include "model/vit/Mlp.h"

#include <torch/torch.h>

namespace prisma {

namespace {
constexpr double kQuickGeluSlope = 1.702;  // CLIP's sigmoid approximation of GELU
}

torch::Tensor applyActivation(const torch::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::GeluErf: return torch::gelu(x);
    case Activation::GeluTanh: return torch::gelu(x, "tanh");
    case Activation::QuickGelu: return x * torch::sigmoid(kQuickGeluSlope * x);
    case Activation::Relu: return torch::relu(x);
  }
  return x;
}

MlpImpl::MlpImpl(const ViTConfig& cfg) : activation_(cfg.activation) {
  W_in = register_parameter("W_in", torch::zeros({cfg.d_model, cfg.d_mlp}));
  b_in = register_parameter("b_in", torch::zeros({cfg.d_mlp}));
  W_out = register_parameter("W_out", torch::zeros({cfg.d_mlp, cfg.d_model}));
  b_out = register_parameter("b_out", torch::zeros({cfg.d_model}));
  hook_pre = register_module("hook_pre", HookPoint());
  hook_post = register_module("hook_post", HookPoint());
  if (cfg.mlp_hidden_norm && cfg.has_ln())
    ln = register_module("ln", LayerNorm(cfg.d_mlp, cfg.eps, cfg.has_ln_weights()));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  const auto shape = x.sizes().vec();
  torch::Tensor flat = x.reshape({-1, shape.back()});
  torch::Tensor pre = torch::addmm(b_in, flat, W_in);
  std::vector<int64_t> hidden_shape(shape.begin(), shape.end() - 1);
  hidden_shape.push_back(W_in.size(1));
  pre = hook_pre(pre.view(hidden_shape));
  torch::Tensor post = hook_post(applyActivation(pre, activation_));
  if (ln) post = ln(post);
  torch::Tensor out = torch::addmm(b_out, post.reshape({-1, post.size(-1)}), W_out);
  return out.view(shape);
}

}  // namespace prisma
