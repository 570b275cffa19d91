#pragma once
// How good an SAE is, on a dataset split (SAELens' and ViT-Prisma's evaluation figures):
// - sparsity: L0 (mean active features per row), dead features (never fire on the split)
//   and dense ones (fire on more than 10 % of rows);
// - reconstruction: ViT-Prisma's batch-normalised MSE, the plain per-element MSE, and the
//   explained variance 1 − Σ‖x − x̂‖² / Σ‖x − mean(x)‖² over all rows;
// - what the model keeps: accuracy and cross-entropy clean, with the SAE's reconstruction
//   spliced into its hook, and with the hook zero-ablated; "loss recovered" is
//   (CE_zero − CE_sae) / (CE_zero − CE_clean): 1 when splicing costs nothing, 0 when it is
//   as bad as deleting the activation.
// Memory is bounded by one batch; a stop token is checked and progress reported between
// batches.

#include "model/sae/SparseAutoencoder.h"
#include "model/train/TrainingData.h"
#include "model/vit/HookedViT.h"

#include <atomic>
#include <functional>

namespace prisma::sae {

struct SaeEvalOptions {
  train::Part part = train::Part::Test;
  size_t limit = 0;  // images, 0 = the whole part
  int batch = 64;
  std::function<void(size_t done, size_t total)> progress;
  const std::atomic<bool>* stop = nullptr;
};

struct SaeEvalResult {
  int64_t images = 0, rows = 0;
  double l0 = 0, mse_prisma = 0, mse = 0, explained_variance = 0;
  double dead_fraction = 0, dense_fraction = 0;
  double acc_clean = 0, acc_sae = 0, acc_zero = 0;
  double ce_clean = 0, ce_sae = 0, ce_zero = 0;
  double loss_recovered = 0;
  bool stopped = false;
};

SaeEvalResult evaluateSae(HookedViTImpl& model, const SparseAutoencoder& sae, const train::TrainingData& data,
                          const SaeEvalOptions& options = {});

}  // namespace prisma::sae
