#pragma once
// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").
//
// One layer's attention says how a token mixes the tokens of the layer below, but the
// residual connection also carries each token straight through. Rollout models a layer as
//     Â_l = rownorm(0.5 · fuse_heads(A_l) + 0.5 · I)
// (half attention, half identity for the residual; each row renormalised to sum to 1, so
// it stays a distribution over the tokens below), and follows the mixing down the stack:
//     R = Â_{L-1} · … · Â_1 · Â_0        (first layer rightmost)
// R[q, k] is how much input token k flows into token q at the top. The CLS row over the
// patches is the usual saliency map.
//
// vit-explain (the popular reference implementation) divides by `a.sum(dim=-1)` without
// keepdim, which broadcasts the row sums along the wrong axis -- it divides column j by
// row j's sum, so its rows do not sum to 1. This implementation divides each row by its
// own sum, as the paper does (and as ../shared/fixtures' rollout reference does).
//
// Options from vit-explain: fuse heads by mean (the paper), max or min; and discard the
// lowest `discard_ratio` of each fused matrix's entries (never the CLS→CLS entry) to keep
// only strong flows.

#include "model/vit/ActivationCache.h"
#include "model/vit/Config.h"

#include <torch/types.h>

#include <vector>

namespace prisma::interp {

enum class HeadFusion { Mean, Max, Min };

struct RolloutOptions {
  HeadFusion fusion = HeadFusion::Mean;
  double discard_ratio = 0.0;  // in [0, 1)
  double residual_weight = 0.5;  // the paper's 0.5 · A + 0.5 · I
};

// patterns: one [batch, head, tokens, tokens] per layer, bottom first -> [batch, tokens, tokens].
torch::Tensor attentionRollout(const std::vector<torch::Tensor>& patterns, const RolloutOptions& options = {});

// The same from a cache holding every layer's hook_pattern.
torch::Tensor attentionRollout(const ActivationCache& cache, const ViTConfig& cfg,
                               const RolloutOptions& options = {});

}  // namespace prisma::interp
