#pragma once
// Model-thread jobs that replace the model: load one from a path, or build a random one
// in memory (benchmarks, tests). Posted by ExplorerController::loadModel / useRandomModel.

#include "app/explorer/ExplorerController.h"

namespace prisma::app::jobs {

ModelJob<ModelSummary> loadModel(const QString& path, const ModelLoadOptions& options);
ModelJob<ModelSummary> randomModel(const QString& preset);

}  // namespace prisma::app::jobs
