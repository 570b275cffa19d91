#pragma once
// Activation patching (a.k.a. causal tracing, interchange intervention).
//
// Run the model on a clean image and on a corrupted one that behaves differently (a
// different top class). Then rerun the corrupted image many times, each time replacing
// one activation -- one cell of a component's grid, e.g. the residual stream at layer 3,
// position 17 -- with its value from the clean run, and score the output with a metric
// (Metric.h). A cell whose clean value restores the clean behaviour carries information
// the model needs; a cell that changes nothing does not. The sweep returns the metric per
// cell; TransformerLens' generic_activation_patch is the model here: one loop, and per
// component a setter that patches one cell (PatchComponent.h).
//
// Fast and exact. TransformerLens runs one full forward pass per cell. Here:
//  * A patch at layer L cannot change anything before layer L, so each patched run starts
//    at layer L from the corrupted run's cached residual stream (blocks.L.hook_resid_pre,
//    HookedViT's start_at_layer) instead of recomputing the prefix. On a 12-layer model
//    that alone averages (12 + 11 + ... + 1) / 12 / 12 = 0.54 forward passes per cell.
//  * The last block only has to produce the pooled (CLS) token (PooledReadout.h), which
//    takes that to ~0.47.
//  * Many cells of one layer run as one batch, one batch row per cell, with a single hook
//    that patches row i with cell i -- BLAS is far more efficient on a [batch·tokens, d]
//    product than on many small ones.
// The numbers are those of the one-forward-per-cell method (PatchMethod::PerCellForward,
// kept as the reference) up to float rounding. Batches report through a progress callback
// as they finish, and a stop token is checked between batches.
//
// Only one clean / corrupted image pair at a time: the batch axis belongs to the cells.
// A sweep adds temporary hooks to the model, so run one sweep per model at a time (the
// explorer's worker thread owns its model); it sets no threads and no global state.

#include "model/interp/Metric.h"
#include "model/interp/PatchComponent.h"
#include "model/vit/HookedViT.h"

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

namespace prisma::interp {

// The two unpatched runs every patching method starts from.
struct PatchingPair {
  torch::Tensor clean_input, corrupt_input;    // [1, C, H, W]
  torch::Tensor clean_logits, corrupt_logits;  // [1, classes]
  ActivationCache clean, corrupt;
};

// Runs both images once, caching the hooks `filter` passes (default: all) plus every
// layer's resid_pre of the corrupted run, which the fast path starts from. Inputs must be
// single images [1, C, H, W]; throws prisma::Error otherwise.
PatchingPair runPair(HookedViTImpl& model, const torch::Tensor& clean, const torch::Tensor& corrupt,
                     const NameFilter& filter = filters::all());

// Only the hooks the given components patch, for runPair on large models.
NameFilter hooksOf(const std::vector<PatchComponent>& components, const ViTConfig& cfg);

enum class PatchMethod {
  Fast,            // start at the patched layer, many cells per batch
  PerCellForward,  // TransformerLens: one full forward pass from pixels per cell
};

struct PatchProgress {
  int64_t done = 0;                          // cells finished so far
  int64_t total = 0;                         // cells in the sweep
  const std::vector<CellIndex>* cells = nullptr;  // the cells just finished
  torch::Tensor values;                      // their metric values [cells]
  const torch::Tensor* grid = nullptr;       // the whole grid so far (NaN = not yet run)
};

struct PatchOptions {
  PatchMethod method = PatchMethod::Fast;
  // Cells per forward pass; 0 picks one from the model's size (autoBatchSize).
  int batch_size = 0;
  // A subset of the grid to run (e.g. a sample); default: every cell.
  std::optional<std::vector<CellIndex>> cells;
  // Compute the last block at the pooled token only when the patch is below it and the
  // model allows (PooledReadout.h); the same numbers, ~0.07 forward-equivalents less per cell.
  bool pooled_readout = true;
  std::function<void(const PatchProgress&)> on_progress;  // called after each batch
  const std::atomic<bool>* stop = nullptr;                // checked between batches
};

struct PatchResult {
  torch::Tensor values;  // the grid, component.shape, float32; NaN where no run happened
  int64_t cells_done = 0;
  bool stopped = false;  // the stop token ended the sweep early
};

// Patches each cell of `component` from the clean run into the corrupted run and scores
// the output. The model runs without gradients; its hooks are restored afterwards.
PatchResult activationPatch(HookedViTImpl& model, const PatchingPair& pair,
                            const PatchComponent& component, const Metric& metric,
                            const PatchOptions& options = {});

// Cells per batch for the fast path: enough token rows to keep BLAS busy, within a
// memory budget for the transient activations of one layer (see the .cpp for figures).
int autoBatchSize(const ViTConfig& cfg);

}  // namespace prisma::interp
