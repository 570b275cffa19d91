#include "model/train/DataParallel.h"

#include "model/Error.h"
#include "model/train/Checkpoint.h"

#include <torch/torch.h>

namespace prisma::train {

std::vector<int64_t> rankSlice(const std::vector<int64_t>& positions, int rank, int world) {
  const auto n = static_cast<int64_t>(positions.size());
  const int64_t begin = n * rank / world, end = n * (rank + 1) / world;
  return {positions.begin() + begin, positions.begin() + end};
}

void synchronizeStart(Collective& collective, const std::vector<torch::Tensor>& state, int64_t step,
                      int64_t samples, const std::string& runDir) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> where{torch::tensor({step, samples}, torch::kInt64)};
  collective.broadcast(where, 0);
  const int64_t step0 = where[0][0].item<int64_t>(), samples0 = where[0][1].item<int64_t>();
  if (step0 != step || samples0 != samples)
    throw Error(runDir, kCheckpointsDir,
                "rank " + std::to_string(collective.rank()) + " starts at step " + std::to_string(step) +
                    " but rank 0 at step " + std::to_string(step0) +
                    ": every rank must see the same run folder (a shared filesystem)");
  std::vector<torch::Tensor> weights = state;
  collective.broadcast(weights, 0);
}

void allReduceSums(Collective& collective, std::vector<double>& values) {
  if (values.empty()) return;
  std::vector<torch::Tensor> sums{torch::tensor(values, torch::kFloat64)};
  collective.allReduceSum(sums);
  const torch::Tensor reduced = sums[0].contiguous();
  const double* p = reduced.data_ptr<double>();
  values.assign(p, p + values.size());
}

bool broadcastFlag(Collective& collective, bool flag) {
  std::vector<torch::Tensor> t{torch::tensor({flag ? 1.0 : 0.0}, torch::kFloat64)};
  collective.broadcast(t, 0);
  return t[0].item<double>() > 0.0;
}

ParallelStep dataParallelStep(Collective& collective, Objective& objective, const TrainingData& data,
                              const std::vector<int64_t>& positions, const std::vector<torch::Tensor>& trained,
                              bool stopHere) {
  const auto mine = rankSlice(positions, collective.rank(), collective.worldSize());
  const double share = double(mine.size()) / double(positions.size());
  const size_t nScalars = objective.stepScalarNames().size();
  double localLoss = 0.0;
  std::vector<double> localScalars(nScalars, 0.0);
  if (!mine.empty()) {
    const Objective::Step s = objective.step(data.fetch(Part::Train, mine));
    (s.loss * share).backward();
    localLoss = s.loss.item<double>() * share;
    for (size_t i = 0; i < nScalars && i < s.scalars.size(); ++i) localScalars[i] = s.scalars[i] * share;
  }
  std::vector<torch::Tensor> reduced;
  reduced.reserve(trained.size() + 1);
  for (const auto& t : trained) {
    // A rank with an empty slice (or a parameter unused by the loss) still contributes
    // its zeros, so every rank sends the same buckets.
    torch::Tensor p = t;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    reduced.push_back(p.grad());
  }
  // The loss, the stop flag and the step scalars ride in the last bucket instead of a
  // call of their own.
  std::vector<double> extra{localLoss, stopHere ? 1.0 : 0.0};
  extra.insert(extra.end(), localScalars.begin(), localScalars.end());
  reduced.push_back(torch::tensor(extra, torch::dtype(trained.front().scalar_type())));
  collective.allReduceSum(reduced);
  const torch::Tensor last = reduced.back();
  ParallelStep out;
  out.loss = last[0].item<double>();
  out.stop = last[1].item<double>() > 0.0;
  for (size_t i = 0; i < nScalars; ++i) out.scalars.push_back(last[2 + static_cast<int64_t>(i)].item<double>());
  return out;
}

}  // namespace prisma::train
