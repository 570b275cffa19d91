#pragma once
// What data-parallel training needs from a process group, and nothing more: the trainer
// depends on this interface, model/distributed implements it on c10d + Gloo. A trainer
// without one (or with a world of one) runs the single-process path unchanged.
//
// Every call is collective: every rank must make the same calls, with tensors of the same
// shapes, in the same order. A rank that fails or is killed makes the others throw
// prisma::Error (the implementation's timeout), never wait forever.

#include <torch/types.h>

#include <vector>

namespace prisma::train {

class Collective {
public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int worldSize() const = 0;
  // Element-wise sums over ranks, in place. Implementations flatten the tensors into a
  // few buckets rather than making one call per tensor.
  virtual void allReduceSum(std::vector<torch::Tensor>& tensors) = 0;
  // Rank `root`'s values into every rank's tensors, in place.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root = 0) = 0;
};

}  // namespace prisma::train
