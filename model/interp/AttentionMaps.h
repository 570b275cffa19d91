#pragma once
// Attention maps: where one head looks. blocks.L.attn.hook_pattern [batch, head, q, k]
// holds, for each query token, a probability distribution over key tokens. A ViT's key
// tokens are the CLS token (when it has one) and the patches in row-major grid order, so a
// query's row, without the CLS entry, is a heatmap over the image: "what this token reads
// from". The CLS query's map is what the classifier's token gathers.
//
// Head summaries condense a head's pattern to numbers, for sorting and colouring the
// head grid (each averaged over the query tokens and the batch):
//  * entropy (nats): 0 for a head that attends to one token, log(tokens) for uniform;
//  * attention to CLS: how much a head parks on the CLS token (a common "no-op" sink);
//  * attention to self: the diagonal;
//  * mean distance (in patches): for patch queries, Σ_k A[q,k]·|pos(q) − pos(k)| over
//    patch keys, renormalised over them -- the "mean attention distance" of Dosovitskiy et
//    al. 2021 (Fig. 7), in patch rather than pixel units (× patch_size for pixels).

#include "model/vit/ActivationCache.h"
#include "model/vit/Config.h"

#include <torch/types.h>

#include <string>

namespace prisma::interp {

// A query token: the CLS token, or the patch at (row, col) of the grid.
struct Query {
  bool cls = true;
  int row = 0, col = 0;

  static Query patch(int row, int col) { return {false, row, col}; }
  // "cls" or "ROW,COL"; throws prisma::Error on anything else.
  static Query parse(const std::string& text);
};

// The token index of a query; throws prisma::Error when it is outside the grid or asks
// for CLS in a model without one.
int64_t tokenIndex(const Query& query, const ViTConfig& cfg);

// One query's attention over the patch grid, every head: pattern [batch, head, q, k] ->
// [batch, head, grid, grid]. The shares of CLS and the registers are left out (they are not on the image).
torch::Tensor queryMap(const torch::Tensor& pattern, int64_t query_token, const ViTConfig& cfg);

// The same for every layer from a cache with hook_pattern: [layer, head, batch, grid, grid].
torch::Tensor queryMapsAllLayers(const ActivationCache& cache, int64_t query_token, const ViTConfig& cfg);

// A [batch, tokens, tokens] matrix (rollout, relevancy) as a map over the grid: the CLS
// row's patch entries, or -- without a CLS token, where the model pools the mean of all
// tokens -- the mean row. [batch, grid, grid]
torch::Tensor tokenMatrixMap(const torch::Tensor& matrix, const ViTConfig& cfg);

struct HeadSummaries {
  torch::Tensor entropy;        // [layer, head], nats
  torch::Tensor to_cls;         // [layer, head]; NaN without a CLS token
  torch::Tensor to_self;        // [layer, head]
  torch::Tensor mean_distance;  // [layer, head], patches
};

// Summaries of one layer's pattern [batch, head, q, k]: each field [head].
HeadSummaries summarizePattern(const torch::Tensor& pattern, const ViTConfig& cfg);
// Every layer of a cache with hook_pattern: each field [layer, head].
HeadSummaries summarizeHeads(const ActivationCache& cache, const ViTConfig& cfg);

}  // namespace prisma::interp
