#pragma once
// The logit lens (nostalgebraist 2020), per patch. The residual stream after any layer is
// the same kind of vector the classifier head finally reads, so it can be decoded early:
// push each token's residual at each layer through the final LayerNorm and the head W_H
// and ask which class it already "says". Early layers mostly say nothing; the layer where
// a patch's top class settles shows where the model decides, and where on the image.
//
// As in TransformerLens (accumulated_resid with apply_ln), the final LayerNorm divides by
// the scale the real run cached at that token (ln_final.hook_scale), which keeps the map
// linear in the residual; then its weight and bias, then W_H and b_H. At the final layer
// the CLS token's lens logits are therefore exactly the model's logits. Models that
// normalise only after pooling (timm's fc_norm, CLIP) cached no per-token scale; there
// each token is normalised afresh by the final LayerNorm.

#include "model/vit/HookedViT.h"

#include <string>
#include <vector>

namespace prisma::interp {

struct LogitLensResult {
  torch::Tensor logits;     // [layer + 1, batch, pos, classes]: resid_pre of each layer, then final resid_post
  torch::Tensor top_class;  // [layer + 1, batch, pos], int64
  torch::Tensor top_logit;  // [layer + 1, batch, pos]
  std::vector<std::string> labels;  // "0_pre", ..., "final_post"
};

// From a cache holding every layer's hook_resid_pre, the last hook_resid_post and
// ln_final.hook_scale (run_with_cache's default caches all).
LogitLensResult logitLens(const HookedViTImpl& model, const ActivationCache& cache);

}  // namespace prisma::interp
