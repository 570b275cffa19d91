// Sums per-item losses and hits over batches so the result is the mean over items, not
// over batches (the last batch may be smaller).

#include "model/train/Evaluation.h"

#include <torch/torch.h>

#include <algorithm>

namespace prisma::train {
namespace {
constexpr int64_t kTopK = 5;
}

ClassifierSums classifierSums(HookedViTImpl& model, const BatchTensors& b) {
  torch::NoGradGuard no_grad;
  ClassifierSums s;
  const torch::Tensor logits = model.forward(b.inputs);  // [N, classes]
  s.loss = torch::nn::functional::cross_entropy(
               logits, b.labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
               .item<double>();
  const int64_t k = std::min<int64_t>(kTopK, logits.size(1));
  const torch::Tensor top = std::get<1>(logits.topk(k, 1));  // [N, k]
  const torch::Tensor match = top.eq(b.labels.unsqueeze(1));
  s.hits1 = match.select(1, 0).sum().item<double>();
  s.hits5 = match.any(1).sum().item<double>();
  return s;
}

EvalMetrics evaluate(HookedViTImpl& model, const TrainingData& data, Part part,
                     const std::vector<int64_t>& positions, int batch) {
  torch::NoGradGuard no_grad;
  const bool wasTraining = model.is_training();
  model.eval();
  double lossSum = 0, hits1 = 0, hits5 = 0;
  const auto n = static_cast<int64_t>(positions.size());
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t end = std::min(n, begin + batch);
    const std::vector<int64_t> chunk(positions.begin() + begin, positions.begin() + end);
    const ClassifierSums s = classifierSums(model, data.fetch(part, chunk));
    lossSum += s.loss;
    hits1 += s.hits1;
    hits5 += s.hits5;
  }
  if (wasTraining) model.train();
  EvalMetrics m;
  m.count = n;
  if (n > 0) {
    m.loss = lossSum / double(n);
    m.top1 = hits1 / double(n);
    m.top5 = hits5 / double(n);
  }
  return m;
}

}  // namespace prisma::train
