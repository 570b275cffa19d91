#pragma once
// The LibTorch side of the Training tab's SAE runs: the form's values made into the
// config `prisma sae train` builds from the same options (app/cli/SaeTrainCommand.cpp),
// and what the form asks of a model (its hooks and dataset). Only the training worker's
// thread calls these: each loads the model.

#include "model/sae/SaeTraining.h"

#include "app/explorer/training/SaeRunSettings.h"

namespace prisma::app {

// The run's config, checked as the CLI checks its options: an unknown hook, a bad token
// selection or activation, TopK's 0 < k <= d_sae. Throws prisma::Error naming the model
// (or the form) and the field.
sae::SaeTrainConfig saeTrainConfig(const SaeRunSettings& settings);

// Loads `source` and lists what SaeModelProbe holds; errors go into its `error`.
SaeModelProbe probeSaeModel(const QString& source);

}  // namespace prisma::app
