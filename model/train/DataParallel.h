#pragma once
// Data parallelism for TrainingLoop. optimization.batch_size stays the global batch: every
// rank takes the same seeded batch of the epoch (TrainingData) and runs its own contiguous
// slice of it, rank r of W positions [r·n/W, (r+1)·n/W); so W processes at B each update
// exactly like one process at W·B, up to float rounding, and a run resumes under any world
// size that divides its batch sensibly. Each rank scales its slice's mean loss by its share
// of the batch and the gradients are summed over ranks (bucketed), which gives the batch
// mean before clipping, so every rank clips and steps identically. The model is broadcast
// from rank 0 at the start; evaluations are sharded and their sums reduced, so every rank
// logs and early-stops on the same numbers. Only rank 0 writes to the run folder; the
// others read it when resuming, so on several machines it must be on a shared filesystem
// for a resume. A stop request on any rank stops all ranks after the current update.

#include "model/train/Collective.h"
#include "model/train/Objective.h"
#include "model/train/TrainingData.h"

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace prisma::train {

// Rank r's contiguous share [r·n/W, (r+1)·n/W) of n positions: sizes differ by at most one.
std::vector<int64_t> rankSlice(const std::vector<int64_t>& positions, int rank, int world);

// Every rank starts from rank 0's `state` (the objective's replicated tensors), and from
// the same point of the run: ranks that resumed from different checkpoints (a run folder
// not shared between machines) are refused, naming `runDir`, rather than silently averaged.
void synchronizeStart(Collective& collective, const std::vector<torch::Tensor>& state, int64_t step,
                      int64_t samples, const std::string& runDir);

// Element-wise sums of `values` over ranks, in float64, in place.
void allReduceSums(Collective& collective, std::vector<double>& values);

// Rank 0's value of `flag` on every rank.
bool broadcastFlag(Collective& collective, bool flag);

struct ParallelStep {
  double loss = 0.0;            // the global batch's mean loss
  std::vector<double> scalars;  // its step scalars, means over the batch
  bool stop = false;            // whether any rank asked to stop
};
// One data-parallel update's forward and backward on this rank's slice of the global batch
// at `positions`; leaves the batch-mean gradient in every rank's `trained` tensors.
ParallelStep dataParallelStep(Collective& collective, Objective& objective, const TrainingData& data,
                              const std::vector<int64_t>& positions, const std::vector<torch::Tensor>& trained,
                              bool stopHere);

}  // namespace prisma::train
