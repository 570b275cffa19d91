#pragma once
// The transformer block's MLP: W_in [d_model, d_mlp] -> activation -> W_out [d_mlp, d_model].
// The early ViT-Prisma mice also normalise the hidden layer (`mlp_hidden_norm`).

#include "model/vit/LayerNorm.h"

namespace prisma {

class MlpImpl : public torch::nn::Module {
public:
  explicit MlpImpl(const ViTConfig& cfg);

  torch::Tensor forward(const torch::Tensor& x);  // [batch, pos, d_model] -> same

  torch::Tensor W_in, b_in;    // [d_model, d_mlp], [d_mlp]
  torch::Tensor W_out, b_out;  // [d_mlp, d_model], [d_model]
  LayerNorm ln{nullptr};       // on the hidden layer, legacy mice only
  HookPoint hook_pre{nullptr};   // [batch, pos, d_mlp]
  HookPoint hook_post{nullptr};  // [batch, pos, d_mlp]

private:
  Activation activation_;
};
TORCH_MODULE(Mlp);

// The activation functions of the supported families (exact erf GELU, tanh "gelu_new",
// CLIP's quick_gelu x·σ(1.702x), ReLU).
torch::Tensor applyActivation(const torch::Tensor& x, Activation activation);

}  // namespace prisma
