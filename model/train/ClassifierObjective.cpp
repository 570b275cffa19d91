// The loss is computed exactly as ViT-Prisma's trainer does (mean cross-entropy of the
// batch's logits); the evaluation sums are Evaluation.h's, so a trainer's logged figures and
// `prisma eval` agree.

#include "model/train/ClassifierObjective.h"

#include <torch/nn/functional/loss.h>

#include <utility>

namespace prisma::train {

ClassifierObjective::ClassifierObjective(io::LoadedModel savedAs, NamedParameters trained)
    : savedAs_(std::move(savedAs)), model_(savedAs_.model), trained_(std::move(trained)) {}

std::vector<torch::Tensor> ClassifierObjective::replicatedState() const {
  std::vector<torch::Tensor> state;
  for (const auto& p : model_->parameters()) state.push_back(p);
  for (const auto& b : model_->buffers())
    if (b.is_floating_point()) state.push_back(b);
  return state;
}

Objective::Step ClassifierObjective::step(const BatchTensors& batch) {
  const torch::Tensor logits = model_->forward(batch.inputs);  // [N, classes]
  return {torch::nn::functional::cross_entropy(logits, batch.labels), {}};
}

void ClassifierObjective::setEvaluating(bool on) {
  if (on) model_->eval();
  else model_->train();
}

std::vector<double> ClassifierObjective::evaluationSums(const BatchTensors& batch) {
  const ClassifierSums s = classifierSums(*model_, batch);
  return {s.loss, s.hits1, s.hits5};
}

std::vector<double> ClassifierObjective::evaluationScalars(const std::vector<double>& sums, int64_t items) const {
  if (items <= 0) return std::vector<double>(kSums, LogRow::kMissing);
  const double n = double(items);
  return {sums[0] / n, sums[1] / n, sums[2] / n};
}

void ClassifierObjective::saveModel(const std::string& dir, const std::string& name) const {
  io::LoadedModel m = savedAs_;
  m.name = name;
  io::saveModel(m, dir);
}

EvalMetrics classifierMetrics(const LogRow& row, Part part) {
  EvalMetrics m;
  m.loss = row.scalar(evaluationColumn(part, ClassifierObjective::kLoss).column);
  m.top1 = row.scalar(evaluationColumn(part, ClassifierObjective::kAccuracy).column);
  m.top5 = row.scalar(evaluationColumn(part, ClassifierObjective::kTop5).column);
  m.count = part == Part::Train ? row.train_items : row.test_items;
  return m;
}

}  // namespace prisma::train
