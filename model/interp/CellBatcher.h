#pragma once
// The batching loop shared by the patching sweeps (activation and path patching). Cells
// are grouped by layer -- their first index, since every patched run starts at its layer
// -- and each layer's cells are cut into even batches (197 cells at a cap of 20 run as
// 10 batches of about 20, not 9 × 20 + 17). After each batch the grid is filled in and
// the progress callback called; the stop token is checked before each batch.

#include "model/interp/ActivationPatching.h"

namespace prisma::interp {

// Runs one batch of cells, all in `layer`, and returns their metric values [batch].
using BatchRunner = std::function<torch::Tensor(int64_t layer, const std::vector<CellIndex>& batch)>;

PatchResult sweepCells(const std::string& what, const std::vector<int64_t>& shape,
                       const std::vector<CellIndex>& cells, int max_batch, const PatchOptions& options,
                       const BatchRunner& run);

}  // namespace prisma::interp
