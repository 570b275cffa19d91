#pragma once
// Direct logit attribution (DLA). In a pre-LN transformer the final residual stream is a
// plain sum of what every component wrote into it: the embeddings, each layer's attention
// output (itself a sum over heads of W_O·z, plus the bias b_O) and each MLP output. With
// the final LayerNorm's scale frozen at its cached value the head is linear, so each
// component's share of a logit -- or of a logit difference, along the direction
// W_H[:, a] − W_H[:, b] -- is its own vector pushed through that map. DLA measures only the
// *direct* path to the logits; what a component does through later layers is patching's
// business.
//
// The parts sum exactly to the model's logit difference:
//     Σ components (embed, pos_embed, L_attn_out, L_mlp_out) + constant = logit[a] − logit[b]
// where the constant is what no component writes (the final LayerNorm's bias and the head
// bias along the direction), and per layer Σ_h heads[L, h] + attn_bias[L] = L_attn_out.
// Post-LN models (the early mice) are not sums of components; they are refused.

#include "model/vit/HookedViT.h"

#include <optional>
#include <string>
#include <vector>

namespace prisma::interp {

struct DirectLogitAttributionResult {
  torch::Tensor components;         // [batch, component]
  std::vector<std::string> labels;  // "embed", "pos_embed", "0_attn_out", "0_mlp_out", ...
  torch::Tensor heads;              // [batch, layer, head]
  torch::Tensor attn_bias;          // [batch, layer]: b_O's share of each attention layer
  torch::Tensor constant;           // [batch]
  torch::Tensor logit_diff;         // [batch]: the model's own logit[a] (− logit[b])
};

// From a full cache of one run (run_with_cache's default). Without class_b, attributes
// logit[a] itself.
DirectLogitAttributionResult directLogitAttribution(const ActivationCache& cache, const HookedViTImpl& model,
                                                    int class_a, std::optional<int> class_b = std::nullopt);

}  // namespace prisma::interp
