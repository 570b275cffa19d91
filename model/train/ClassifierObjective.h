#pragma once
// The classifier objective: a HookedViT's cross-entropy on labelled images. Its evaluation
// logs the mean loss, top-1 accuracy and top-min(5, classes) accuracy of each part
// (metrics.csv columns train_loss, train_acc, train_top5, test_loss, test_acc, test_top5).

#include "model/io/ModelLoader.h"
#include "model/train/Evaluation.h"
#include "model/train/Objective.h"
#include "model/vit/HookedViT.h"

#include <string>
#include <vector>

namespace prisma::train {

class ClassifierObjective : public Objective {
public:
  static constexpr const char* kLoss = "loss";
  static constexpr const char* kAccuracy = "acc";
  static constexpr const char* kTop5 = "top5";

  // Trains `trained` (parameters of `savedAs.model`); models are saved as `savedAs` with
  // the name of the checkpoint or run.
  ClassifierObjective(io::LoadedModel savedAs, NamedParameters trained);

  std::vector<std::string> evaluationScalarNames() const override { return {kLoss, kAccuracy, kTop5}; }
  const NamedParameters& trainedParameters() const override { return trained_; }
  std::vector<torch::Tensor> replicatedState() const override;
  Step step(const BatchTensors& batch) override;
  void setEvaluating(bool on) override;
  size_t evaluationSumCount() const override { return kSums; }
  std::vector<double> evaluationSums(const BatchTensors& batch) override;
  std::vector<double> evaluationScalars(const std::vector<double>& sums, int64_t items) const override;
  void saveModel(const std::string& dir, const std::string& name) const override;

private:
  static constexpr size_t kSums = 3;  // summed loss, top-1 hits, top-5 hits
  io::LoadedModel savedAs_;
  HookedViT model_;
  NamedParameters trained_;
};

// A logged row's evaluation of one part, as a classifier run logs it (NaN where the row
// has no such column; count is the items the part's evaluation looked at).
EvalMetrics classifierMetrics(const LogRow& row, Part part);

}  // namespace prisma::train
