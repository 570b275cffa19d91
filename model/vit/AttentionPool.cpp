#include "model/vit/AttentionPool.h"

#include <torch/torch.h>

#include <cmath>

namespace prisma {

AttentionPoolImpl::AttentionPoolImpl(const ViTConfig& cfg) : cfg_(cfg) {
  const int H = cfg.n_heads, D = cfg.d_model, dh = cfg.d_head;
  latent = register_parameter("latent", torch::zeros({1, 1, D}));
  W_Q = register_parameter("W_Q", torch::zeros({H, D, dh}));
  W_K = register_parameter("W_K", torch::zeros({H, D, dh}));
  W_V = register_parameter("W_V", torch::zeros({H, D, dh}));
  b_Q = register_parameter("b_Q", torch::zeros({H, dh}));
  b_K = register_parameter("b_K", torch::zeros({H, dh}));
  b_V = register_parameter("b_V", torch::zeros({H, dh}));
  W_O = register_parameter("W_O", torch::zeros({H, dh, D}));
  b_O = register_parameter("b_O", torch::zeros({D}));
  hook_pattern = register_module("hook_pattern", HookPoint());
  hook_z = register_module("hook_z", HookPoint());
  ln = register_module("ln", LayerNorm(D, cfg.eps, true));
  mlp = register_module("mlp", Mlp(cfg));
  hook_out = register_module("hook_out", HookPoint());
}

torch::Tensor AttentionPoolImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), H = cfg_.n_heads, D = cfg_.d_model, dh = cfg_.d_head;
  const torch::Tensor q = torch::einsum("ld,hdk->hlk", {latent[0], W_Q}) + b_Q.unsqueeze(1);  // [H, 1, dh]
  const torch::Tensor k = torch::einsum("btd,hdk->bhtk", {x, W_K}) + b_K.unsqueeze(1);       // [B, H, T, dh]
  const torch::Tensor v = torch::einsum("btd,hdk->bhtk", {x, W_V}) + b_V.unsqueeze(1);       // [B, H, T, dh]
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  // timm scales q before the product.
  torch::Tensor scores = torch::matmul(q * scale, k.transpose(-2, -1));  // [B, H, 1, T]
  const torch::Tensor pattern = hook_pattern(torch::softmax(scores, -1));
  torch::Tensor z = hook_z(torch::matmul(pattern, v).permute({0, 2, 1, 3}));  // [B, 1, H, dh]
  torch::Tensor y = torch::addmm(b_O, z.reshape({B, H * dh}), W_O.reshape({H * dh, D}));  // [B, D]
  y = y + mlp(ln(y));
  return hook_out(y);
}

}  // namespace prisma
