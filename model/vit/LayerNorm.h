#pragma once
// LayerNorm written out (TransformerLens' form) so its scale is a hook point: logit-lens
// and attribution methods divide residual stacks by the scale the real run cached.
//   x -= mean(x);  scale = sqrt(mean(x^2) + eps);  out = x / scale * w + b

#include "model/vit/Config.h"
#include "model/vit/HookPoint.h"

namespace prisma {

class LayerNormImpl : public torch::nn::Module {
public:
  // `with_weights` false gives TransformerLens' LayerNormPre (weights folded away).
  LayerNormImpl(int d_model, double eps, bool with_weights);

  torch::Tensor forward(const torch::Tensor& x);  // [..., d_model]

  bool has_weights() const { return w.defined(); }

  torch::Tensor w, b;  // [d_model]; undefined without weights
  HookPoint hook_scale{nullptr};       // [..., 1]
  HookPoint hook_normalized{nullptr};  // [..., d_model]

private:
  double eps_;
};
TORCH_MODULE(LayerNorm);

}  // namespace prisma
