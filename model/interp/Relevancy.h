#pragma once
// Gradient-weighted attention relevancy (Chefer, Gur & Wolf 2021, "Generic
// Attention-model Explainability for Interpreting Bi-Modal and Encoder-Decoder
// Transformers", the generic rule for self-attention).
//
// Rollout treats every head alike and ignores the class. Chefer et al. weight each head's
// attention by the gradient of the chosen class's logit with respect to it, keep only the
// positive part (heads and entries that *raise* the class), average over heads, and
// accumulate like rollout but additively, so the residual path keeps the identity:
//     R = I;   for each layer, bottom to top:   Ā = mean_h( clamp(∇A ⊙ A, min 0) );
//                                                R = R + Ā · R
// One forward and one backward pass. R's CLS row over the patches is the class-specific
// relevancy map (AttentionMaps.h: tokenMatrixMap).

#include "model/vit/HookedViT.h"

namespace prisma::interp {

// Relevancy of every token pair for `target_class`, per image: pixels [batch, C, H, W] ->
// [batch, tokens, tokens]. The model's parameters are not touched.
torch::Tensor gradientRelevancy(HookedViTImpl& model, const torch::Tensor& pixels, int target_class);

// The rule itself, from each layer's pattern and its gradient ([batch, head, T, T], bottom first).
torch::Tensor relevancyFromGradients(const std::vector<torch::Tensor>& patterns,
                                     const std::vector<torch::Tensor>& gradients);

}  // namespace prisma::interp
