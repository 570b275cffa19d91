#pragma once
// Loss, top-1 and top-5 accuracy of a model on a fixed subset of one part, in batches,
// without gradients: what the trainer logs at every log step.

#include "model/train/TrainingData.h"
#include "model/vit/HookedViT.h"

#include <cstdint>
#include <limits>
#include <vector>

namespace prisma::train {

struct EvalMetrics {
  double loss = std::numeric_limits<double>::quiet_NaN();  // mean cross-entropy
  double top1 = std::numeric_limits<double>::quiet_NaN();  // fraction correct
  double top5 = std::numeric_limits<double>::quiet_NaN();  // top-min(5, classes)
  int64_t count = 0;                                       // items evaluated
};

// One batch's summed cross-entropy and top-1 / top-5 hits, without gradients: evaluate()
// adds these over batches, the trainer's ClassifierObjective over batches and ranks.
struct ClassifierSums {
  double loss = 0.0;
  double hits1 = 0.0;
  double hits5 = 0.0;
};
ClassifierSums classifierSums(HookedViTImpl& model, const BatchTensors& batch);

EvalMetrics evaluate(HookedViTImpl& model, const TrainingData& data, Part part,
                     const std::vector<int64_t>& positions, int batch);

}  // namespace prisma::train
