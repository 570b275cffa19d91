#include "model/vit/Attention.h"

#include <torch/torch.h>

#include <cmath>

namespace prisma {

AttentionImpl::AttentionImpl(const ViTConfig& cfg) : cfg_(cfg) {
  const int H = cfg.n_heads, D = cfg.d_model, dh = cfg.d_head;
  W_Q = register_parameter("W_Q", torch::zeros({H, D, dh}));
  W_K = register_parameter("W_K", torch::zeros({H, D, dh}));
  W_V = register_parameter("W_V", torch::zeros({H, D, dh}));
  W_O = register_parameter("W_O", torch::zeros({H, dh, D}));
  if (cfg.qkv_bias) {
    b_Q = register_parameter("b_Q", torch::zeros({H, dh}));
    b_K = register_parameter("b_K", torch::zeros({H, dh}));
    b_V = register_parameter("b_V", torch::zeros({H, dh}));
  }
  b_O = register_parameter("b_O", torch::zeros({D}));
  hook_q = register_module("hook_q", HookPoint());
  hook_k = register_module("hook_k", HookPoint());
  hook_v = register_module("hook_v", HookPoint());
  hook_attn_scores = register_module("hook_attn_scores", HookPoint());
  hook_pattern = register_module("hook_pattern", HookPoint());
  hook_z = register_module("hook_z", HookPoint());
  if (cfg.use_attn_result) hook_result = register_module("hook_result", HookPoint());
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t H = cfg_.n_heads, D = cfg_.d_model, dh = cfg_.d_head;

  // One product for q, k and v: [D, 3·H·dh], columns ordered (q|k|v, head, d_head).
  torch::Tensor w_qkv = torch::cat({W_Q, W_K, W_V}, 0).permute({1, 0, 2}).reshape({D, 3 * H * dh});
  torch::Tensor qkv = b_Q.defined()
                          ? torch::addmm(torch::cat({b_Q, b_K, b_V}, 0).reshape({3 * H * dh}), x.reshape({B * T, D}), w_qkv)
                          : torch::mm(x.reshape({B * T, D}), w_qkv);
  qkv = qkv.view({B, T, 3, H, dh});

  torch::Tensor q = hook_q(qkv.select(2, 0));  // [B, T, H, dh]
  torch::Tensor k = hook_k(qkv.select(2, 1));
  torch::Tensor v = hook_v(qkv.select(2, 2));

  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  torch::Tensor scores =
      torch::matmul(q.permute({0, 2, 1, 3}), k.permute({0, 2, 3, 1})) * scale;  // [B, H, q, k]
  scores = hook_attn_scores(scores);
  torch::Tensor pattern = hook_pattern(torch::softmax(scores, -1));          // [B, H, q, k]
  torch::Tensor z = torch::matmul(pattern, v.permute({0, 2, 1, 3}));         // [B, H, T, dh]
  z = hook_z(z.permute({0, 2, 1, 3}));                                       // [B, T, H, dh]

  if (hook_result) {
    // Per-head contributions to the residual stream, summed afterwards.
    torch::Tensor result = hook_result(torch::einsum("bthk,hkd->bthd", {z, W_O}));  // [B,T,H,D]
    return result.sum(2) + b_O;
  }
  torch::Tensor out = torch::addmm(b_O, z.reshape({B * T, H * dh}), W_O.reshape({H * dh, D}));
  return out.view({B, T, D});
}

}  // namespace prisma
