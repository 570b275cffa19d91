// The three schedules, written in the same floating-point order as ViT-Prisma's Python
// (base·(step/warmup), base·γ**k) so the values agree bit for bit with the original.

#include "model/train/LrSchedule.h"

#include <algorithm>
#include <cmath>

namespace prisma::train {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

LrSchedule::LrSchedule(const ScheduleConfig& config, double baseLr, int64_t totalSteps)
    : config_(config), base_(baseLr), total_(totalSteps) {}

double LrSchedule::lr(int64_t step) const {
  const int64_t warmup = config_.warmup_steps;
  if (step < warmup) return base_ * (static_cast<double>(step) / static_cast<double>(warmup));
  switch (config_.type) {
    case ScheduleType::WarmupStep: {
      const int64_t k = (step - warmup) / config_.step_size;  // Python's // on non-negatives
      return base_ * std::pow(config_.gamma, static_cast<double>(k));
    }
    case ScheduleType::WarmupCosine: {
      const double span = static_cast<double>(std::max<int64_t>(1, total_ - warmup));
      const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
      return config_.min_lr + (base_ - config_.min_lr) * 0.5 * (1.0 + std::cos(kPi * progress));
    }
    case ScheduleType::Constant: return base_;
  }
  return base_;
}

}  // namespace prisma::train
