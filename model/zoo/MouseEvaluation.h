#pragma once
// Accuracy and top-5 of a loaded model on a whole part (train or test) of a dataset, the
// way the trainer splits and preprocesses it: what `prisma eval`, `prisma zoo build` and
// the zoo's tests measure. Forward passes only, in batches, without gradients.

#include "model/io/ModelLoader.h"
#include "model/train/Evaluation.h"
#include "model/train/TrainConfig.h"
#include "model/train/TrainingData.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace prisma::zoo {

// The dataset fields of a training config that decide which items form a part.
struct EvalDataset {
  std::string name = "induction";
  uint64_t seed = 0;              // generated sets and the held-out split
  double test_fraction = 0.2;     // when the dataset has no test split
  std::string label_factor = "shape";
  uint64_t subsample = 0;
  std::string path;
};

EvalDataset evalDatasetOf(const train::DatasetConfig& config);
nlohmann::json toJson(const EvalDataset& d);
EvalDataset evalDatasetFromJson(const nlohmann::json& j, const std::string& source);

constexpr int kDefaultEvalBatch = 256;

// Throws prisma::Error naming the dataset when it cannot be opened or its classes do not
// match the model's head.
train::EvalMetrics evaluateModel(const io::LoadedModel& model, const EvalDataset& dataset, train::Part part,
                                 int batch = kDefaultEvalBatch);

}  // namespace prisma::zoo
