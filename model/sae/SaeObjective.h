#pragma once
// Training an SAE on a frozen ViT's activations, as an Objective of the generic training
// loop (model/train/TrainingLoop.h), which supplies AdamW (weight decay 0 here, i.e.
// Adam), warm-up + cosine learning rate, gradient clipping, checkpoints, resume,
// metrics.csv and TensorBoard events.
//
// The recipe is ViT-Prisma's VisionSAETrainer (after Anthropic's "Towards
// Monosemanticity"):
// - Activations stream from the hook over the dataset's images (patch tokens, CLS or
//   both) into a shuffling buffer; each update draws its rows at random from the buffer,
//   so one batch mixes tokens of many images and positions.
// - b_dec starts at the geometric median (Weiszfeld) of a buffer's worth of rows.
// - Loss: ViT-Prisma's batch-normalised MSE (SparseAutoencoder.h) plus
//   l1_coefficient · Σ_i f_i ‖W_dec,i‖ (the L1 penalty weighted by decoder norms, which is
//   ViT-Prisma's plain L1 while rows have unit norm); TopK has no L1 term.
// - Decoder rows are renormalised to unit norm before every update and the gradient
//   component parallel to each row is removed (a tensor hook during backward, so before
//   the loop's clipping; ViT-Prisma removes it after clipping).
// - Dead features: the steps since each feature last fired are tracked; optionally every
//   `resample_every` steps the features silent for `dead_feature_window` steps are
//   re-initialised towards rows the SAE reconstructs worst (Anthropic's resampling; the
//   optimizer's moments for them are kept, which the loop owns).
//
// Data parallelism (`prisma sae train --nproc`): the loop gives each rank a slice of the
// batch's images. Their rows are gathered (in rank order, i.e. the batch's order) so every
// rank pushes the same rows into an identical buffer and draws the same rows with an
// identically seeded generator; each rank then runs the SAE on its contiguous share of
// the drawn rows, with the MSE's batch mean taken over all of them, and the loop sums the
// gradients. Firing (for dead features and resampling) is summed over ranks. So W
// processes update like one, float rounding apart.
//
// Two deliberate differences from ViT-Prisma: with layer_norm input normalisation the
// geometric median is taken of the normalised rows (the space b_dec is subtracted in;
// ViT-Prisma takes it of the raw activations), and the buffer refills from the data
// order after a resume (its content is not checkpointed; the weights, optimizer state,
// step and dead-feature counters are), so a resumed run is close to, not bit-identical
// with, an uninterrupted one.

#include "model/sae/SparseAutoencoder.h"
#include "model/train/Collective.h"
#include "model/train/Objective.h"
#include "model/vit/HookedViT.h"

#include <nlohmann/json.hpp>

#include <ATen/core/Generator.h>

#include <cstdint>
#include <string>
#include <vector>

namespace prisma::sae {

struct SaeTrainSettings {
  SaeConfig sae;                  // sizes, activation, normalisation, hook, tokens, l1
  int64_t rows_per_step = 0;      // rows per update; 0 = the images' rows of one batch
  int64_t buffer_rows = 0;        // shuffling buffer; 0 = 16 updates' rows
  std::string b_dec_init = "geometric_median";  // or "mean", "zeros"
  int64_t dead_feature_window = 1000;  // steps without firing before a feature counts as dead
  int64_t resample_every = 0;          // 0 = never resample dead features
  uint64_t seed = 0;

  nlohmann::json toJson() const;
};

// Weiszfeld's algorithm: the point minimising the sum of Euclidean distances to the rows
// of `points` [n, d]. ViT-Prisma's compute_geometric_median with maxiter 100.
torch::Tensor geometricMedian(const torch::Tensor& points, int max_iterations = 100);

// ViT-Prisma's initialisation: W_enc and W_dec Kaiming-uniform (a = √5), each row of the
// [out, in] matrix scaled to unit norm; biases zero. Deterministic in `seed`.
void initializeSae(SparseAutoencoderImpl& sae, uint64_t seed);

class SaeObjective : public train::Objective {
public:
  static constexpr const char* kMse = "mse";
  static constexpr const char* kL1 = "l1";
  static constexpr const char* kL0 = "l0";
  static constexpr const char* kExplainedVariance = "explained_variance";
  static constexpr const char* kDeadFraction = "dead_fraction";
  static constexpr const char* kDenseFraction = "dense_fraction";
  // A feature firing on more than this fraction of evaluated rows counts as dense.
  static constexpr double kDenseDensity = 0.1;

  // `model` is frozen (never trained); `sae` is trained.
  SaeObjective(HookedViT model, SparseAutoencoder sae, SaeTrainSettings settings);

  // The hook's selected rows [rows, d_in] for images [N, C, H, W] (no gradients).
  torch::Tensor activationRows(const torch::Tensor& images);
  // Fills the buffer with `images`' rows and, unless `resumed`, initialises b_dec from them.
  // `images_per_step` sets the default rows per update (that many images' rows).
  void prime(const torch::Tensor& images, int64_t images_per_step, bool resumed);
  // Restores the step and dead-feature counters saved in a checkpoint folder (if any).
  void restoreState(const std::string& checkpointDir);
  // Trains as one rank of a data-parallel group (nullptr or a world of one: alone). Every
  // rank must have been primed with the same images.
  void setCollective(train::Collective* collective);

  std::vector<std::string> stepScalarNames() const override { return {kMse, kL1, kL0, kDeadFraction}; }
  std::vector<std::string> evaluationScalarNames() const override {
    return {kMse, kL1, kL0, kExplainedVariance, kDeadFraction, kDenseFraction};
  }
  const train::NamedParameters& trainedParameters() const override { return trained_; }
  std::vector<torch::Tensor> replicatedState() const override;
  Step step(const train::BatchTensors& batch) override;
  void setEvaluating(bool) override {}
  size_t evaluationSumCount() const override;
  std::vector<double> evaluationSums(const train::BatchTensors& batch) override;
  std::vector<double> evaluationScalars(const std::vector<double>& sums, int64_t items) const override;
  void saveModel(const std::string& dir, const std::string& name) const override;

  const SparseAutoencoder& sae() const { return sae_; }
  int64_t steps() const { return step_; }
  int64_t rowsPerStep() const { return settings_.rows_per_step; }

private:
  void primeRows(const torch::Tensor& rows, int64_t images, int64_t images_per_step, bool resumed);
  // Every rank's rows, in rank order; `share` gets this rank's fraction of them.
  torch::Tensor gatherRows(const torch::Tensor& rows, double& share);
  void push(const torch::Tensor& rows);
  torch::Tensor draw(int64_t n);
  void resampleDead();

  HookedViT model_;
  SparseAutoencoder sae_;
  SaeTrainSettings settings_;
  train::NamedParameters trained_;
  at::Generator generator_;
  torch::Tensor buffer_;      // [buffer_rows, d_in]
  int64_t filled_ = 0;
  int64_t step_ = 0;
  torch::Tensor since_fired_;  // [d_sae] int64: steps since each feature last fired
  train::Collective* collective_ = nullptr;  // data-parallel group, or none
};

}  // namespace prisma::sae
