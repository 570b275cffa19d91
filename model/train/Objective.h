#pragma once
// What a trainer optimises, apart from how. TrainingLoop owns the how -- the learning-rate
// schedule, AdamW, gradient clipping, atomic checkpoints and exact resume, metrics.csv and
// TensorBoard events, data parallelism, early stopping and progress for the dashboard --
// and asks an Objective for the rest: which parameters to train, the loss of a batch, what
// an evaluation measures, and how the trained model is saved. ClassifierObjective (a
// HookedViT with cross-entropy) is one; a sparse autoencoder on a frozen model's
// activations is another, without copying the loop.
//
// Evaluation is split in two so shards add up over data-parallel ranks: evaluationSums()
// returns sums over one batch's items (the loop adds batches and ranks in float64), and
// evaluationScalars() turns the totals into the logged values. A statistic that is not a
// mean of per-item values (explained variance, a fraction of dead latents) fits too when
// its sums are additive (Σx, Σx², counts per latent).
//
// Logged names: a step scalar "x" appears as the mean over the updates since the previous
// row, metrics.csv column train_batch_x, TensorBoard tag train/batch_x; an evaluation
// scalar "y" of each part as columns train_y and test_y, tags train/y and test/y. The
// dashboard plots every column it finds, so a new objective needs no GUI change.

#include "model/train/OptimizerState.h"
#include "model/train/RunLog.h"
#include "model/train/TrainingData.h"

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace prisma::train {

class Objective {
public:
  virtual ~Objective() = default;

  // Names of the scalars step() returns besides the loss; none by default.
  virtual std::vector<std::string> stepScalarNames() const { return {}; }
  // Names of the values evaluationScalars() returns, e.g. {"loss", "acc", "top5"}.
  virtual std::vector<std::string> evaluationScalarNames() const = 0;

  // The parameters the optimizer trains, in a fixed order, by unique name (the optimizer's
  // state is saved by name).
  virtual const NamedParameters& trainedParameters() const = 0;
  // What rank 0 broadcasts at the start of a data-parallel run so that every rank starts
  // from the same model: every parameter (frozen ones too) and floating-point buffer.
  virtual std::vector<torch::Tensor> replicatedState() const = 0;

  struct Step {
    torch::Tensor loss;           // the batch's mean loss: 0-dim, with gradients
    std::vector<double> scalars;  // stepScalarNames() order
  };
  // One training batch's forward pass in training mode. The loop runs backward, clipping
  // and the update, so the loss must be the mean over the batch's items (the loop weights
  // data-parallel slices by their share of the batch).
  virtual Step step(const BatchTensors& batch) = 0;

  // Evaluation mode on (no dropout-like behaviour) or back to training mode; the loop
  // evaluates without gradients in between.
  virtual void setEvaluating(bool on) = 0;
  // How many sums evaluationSums() returns.
  virtual size_t evaluationSumCount() const = 0;
  // Additive sums over one batch's items.
  virtual std::vector<double> evaluationSums(const BatchTensors& batch) = 0;
  // The evaluation scalars (evaluationScalarNames() order) from the totals over `items`
  // items; NaN where items is 0.
  virtual std::vector<double> evaluationScalars(const std::vector<double>& sums, int64_t items) const = 0;

  // Writes the model's files into `dir` (a checkpoint being written, or the run folder
  // at the end), naming the model `name`.
  virtual void saveModel(const std::string& dir, const std::string& name) const = 0;
};

// The metrics.csv column and tag of a step scalar (train_batch_x) and of an evaluation
// scalar of one part (train_y, test_y).
ScalarColumn stepScalarColumn(const std::string& name);
ScalarColumn evaluationColumn(Part part, const std::string& name);
// An objective's columns in the order the loop logs them: step scalars, then the train
// part's evaluation, then the test part's.
std::vector<ScalarColumn> objectiveColumns(const Objective& objective);

}  // namespace prisma::train
