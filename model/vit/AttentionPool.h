#pragma once
// timm's attention-pool head (AttentionPoolLatent, the pooling of SigLIP ViTs, 'map'): a
// learned latent query attends over the final tokens with the model's head count,
//   y = proj(softmax(q(latent) · k(x)ᵀ / sqrt(d_head)) · v(x));  y = y + mlp(norm(y))
// and the latent's output is the pooled vector. q and the fused kv are split into
// TransformerLens' per-head layout like the blocks' attention, so a head's pattern over
// the tokens is a hook point.

#include "model/vit/Config.h"
#include "model/vit/HookPoint.h"
#include "model/vit/LayerNorm.h"
#include "model/vit/Mlp.h"

namespace prisma {

class AttentionPoolImpl : public torch::nn::Module {
public:
  explicit AttentionPoolImpl(const ViTConfig& cfg);

  torch::Tensor forward(const torch::Tensor& x);  // [batch, tokens, d_model] -> [batch, d_model]

  torch::Tensor latent;          // [1, 1, d_model]
  torch::Tensor W_Q, W_K, W_V;   // [head, d_model, d_head]
  torch::Tensor b_Q, b_K, b_V;   // [head, d_head]
  torch::Tensor W_O;             // [head, d_head, d_model] (timm's proj)
  torch::Tensor b_O;             // [d_model]
  LayerNorm ln{nullptr};
  Mlp mlp{nullptr};
  HookPoint hook_pattern{nullptr};  // [batch, head, 1, tokens]
  HookPoint hook_z{nullptr};        // [batch, 1, head, d_head]
  HookPoint hook_out{nullptr};      // [batch, d_model]

private:
  ViTConfig cfg_;
};
TORCH_MODULE(AttentionPool);

}  // namespace prisma
