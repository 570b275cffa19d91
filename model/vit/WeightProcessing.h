#pragma once
// Weight processing as in TransformerLens / ViT-Prisma: rewrite the parameters so the
// model computes the same function in a form that is easier to read.
//  - fold LayerNorm: a LayerNorm's weight and bias move into the matrices that read its
//    output (W_Q/W_K/W_V, W_in, W_H), leaving a weightless LayerNorm (LNPre). The reading
//    matrices are then centred along d_model, which changes nothing because a LayerNorm's
//    output has zero mean.
//  - centre writing weights: every matrix that writes to the residual stream (embeddings,
//    W_O, W_out and their biases) loses its mean along d_model; every reader is a
//    LayerNorm, which subtracts that mean anyway.
//  - fold value biases: attention patterns sum to 1, so b_V reaches the output as the
//    constant b_V·W_O; it moves into b_O.

#include "model/vit/HookedViT.h"

namespace prisma {

struct WeightProcessingOptions {
  bool fold_ln = true;
  bool center_writing_weights = true;
  bool fold_value_biases = true;
};

// Returns a new model; `model` is unchanged. Throws prisma::Error for architectures where
// a step would change the function (post-LN blocks, no LayerNorm, LayerNorm on the MLP's
// hidden layer or before block 0 for folding).
HookedViT processWeights(const HookedViT& model, const WeightProcessingOptions& options = {});

}  // namespace prisma
