#pragma once
// One transformer block with its residual-stream hook points. Pre-LN (every modern ViT):
//   resid_mid = resid_pre + attn(ln1(resid_pre)); resid_post = resid_mid + mlp(ln2(resid_mid))
// Post-LN (the early ViT-Prisma mice):
//   resid_mid = ln1(resid_pre + attn(resid_pre)); resid_post = ln2(resid_mid + mlp(resid_mid))

#include "model/vit/Attention.h"
#include "model/vit/Mlp.h"

namespace prisma {

class TransformerBlockImpl : public torch::nn::Module {
public:
  explicit TransformerBlockImpl(const ViTConfig& cfg);

  torch::Tensor forward(const torch::Tensor& resid_pre);  // [batch, pos, d_model]

  HookPoint hook_resid_pre{nullptr};
  LayerNorm ln1{nullptr};  // absent without LayerNorm
  Attention attn{nullptr};
  HookPoint hook_attn_out{nullptr};
  HookPoint hook_resid_mid{nullptr};  // absent for attention-only blocks
  LayerNorm ln2{nullptr};
  Mlp mlp{nullptr};
  HookPoint hook_mlp_out{nullptr};
  HookPoint hook_resid_post{nullptr};

private:
  bool post_ln_;
};
TORCH_MODULE(TransformerBlock);

}  // namespace prisma
