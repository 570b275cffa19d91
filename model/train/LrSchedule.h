#pragma once
// Learning rate as a function of the update index, applied by the trainer before every
// optimizer step. The step is the number of updates already made (0 for the first), which
// is what ViT-Prisma's WarmupThenStepLR calls last_epoch when optimizer.step() runs: its
// first update therefore runs at lr 0 and only fills AdamW's moment estimates. A pure
// function of the step, so resuming needs no scheduler state beyond the step itself.

#include "model/train/TrainConfig.h"

#include <cstdint>

namespace prisma::train {

class LrSchedule {
public:
  // `totalSteps` is the cosine schedule's horizon; the others ignore it.
  LrSchedule(const ScheduleConfig& config, double baseLr, int64_t totalSteps);

  double lr(int64_t step) const;

private:
  ScheduleConfig config_;
  double base_;
  int64_t total_;
};

}  // namespace prisma::train
