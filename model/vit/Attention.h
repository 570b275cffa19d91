#pragma once
// Multi-head self-attention in TransformerLens' parametrisation: per-head matrices
// W_Q/W_K/W_V [head, d_model, d_head] and W_O [head, d_head, d_model], so a head is a
// slice of a tensor and every intermediate (q, k, v, scores, pattern, z, result) is a
// hook point. The three input projections run as one fused matrix product.

#include "model/vit/Config.h"
#include "model/vit/HookPoint.h"

namespace prisma {

class AttentionImpl : public torch::nn::Module {
public:
  explicit AttentionImpl(const ViTConfig& cfg);

  torch::Tensor forward(const torch::Tensor& x);  // [batch, pos, d_model] -> same

  torch::Tensor W_Q, W_K, W_V;  // [head, d_model, d_head]
  torch::Tensor W_O;            // [head, d_head, d_model]
  torch::Tensor b_Q, b_K, b_V;  // [head, d_head]; undefined without qkv_bias
  torch::Tensor b_O;            // [d_model]

  HookPoint hook_q{nullptr}, hook_k{nullptr}, hook_v{nullptr};  // [batch, pos, head, d_head]
  HookPoint hook_attn_scores{nullptr};  // [batch, head, q, k]
  HookPoint hook_pattern{nullptr};      // [batch, head, q, k]
  HookPoint hook_z{nullptr};            // [batch, pos, head, d_head]
  HookPoint hook_result{nullptr};       // [batch, pos, head, d_model], with use_attn_result

private:
  ViTConfig cfg_;
};
TORCH_MODULE(Attention);

}  // namespace prisma
