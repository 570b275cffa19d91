#pragma once
// Early stopping with patience: stop after `patience` ticks in a row that did not beat the
// best value by more than min_delta. A tick is each evaluation, or (every = epoch) the end of
// each epoch, judged on the latest evaluation -- what ViT-Prisma's trainer does with the train
// accuracy. Its state is part of a checkpoint so a resumed run stops where the uninterrupted
// one would.

#include "model/train/TrainConfig.h"

#include <nlohmann/json_fwd.hpp>

#include <limits>

namespace prisma::train {

class EarlyStopping {
public:
  explicit EarlyStopping(const EarlyStoppingConfig& config) : config_(config) {}

  bool enabled() const { return config_.metric != EarlyStopMetric::None && config_.patience > 0; }
  // Records one evaluation; returns true when training should stop.
  bool evaluated(double value);
  // The end of an epoch; returns true when training should stop.
  bool epochEnded();

  double best() const { return best_; }
  int sinceBest() const { return sinceBest_; }

  nlohmann::json state() const;
  void restore(const nlohmann::json& state, const std::string& source);

private:
  bool update(double value);

  EarlyStoppingConfig config_;
  double latest_ = std::numeric_limits<double>::quiet_NaN();  // the latest evaluation (every = epoch)
  double best_ = -1.0;  // accuracies are >= 0, so the first evaluation always improves
  int sinceBest_ = 0;
};

}  // namespace prisma::train
