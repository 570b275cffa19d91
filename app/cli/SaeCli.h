#pragma once
// What the `prisma sae` sub-commands and the SAE benchmarks share: opening the model and
// dataset split an SAE runs over (`sae eval`, `sae features`, `bench feature-db`).

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"

#include "datasets/Dataset.h"
#include "model/io/ModelLoader.h"
#include "model/sae/SaeFiles.h"
#include "model/train/TrainingData.h"

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace prisma::cli {

// How many classes the split's labels may take: the dataset's, or at least the model's
// output width too (when the model's predictions are scored against the labels).
enum class SaeClassCount { Dataset, DatasetOrModel };

struct SaeDataSetup {
  io::LoadedModel model;
  std::string model_spec;  // as given (--model) or as the SAE names it
  std::shared_ptr<const datasets::Dataset> dataset;
  std::unique_ptr<train::TrainingData> data;
  train::Part part = train::Part::Test;
  std::string split;  // "test" or "train"
  std::string dataset_path;  // --dataset-path (empty: the default location)
  uint64_t seed = 0;         // --seed: generated sets' images and every dataset's split
  size_t limit = 0;   // --limit: images, 0 = the whole split
  int batch = 64;     // --batch
};

// The options saeDataSetup reads, for CliArgs' valued list.
const std::vector<std::string>& saeDataOptionNames();

// --model (default: the model the SAE names), --dataset, --dataset-path, --seed, --split,
// --limit, --batch. Throws UsageError on bad values.
SaeDataSetup saeDataSetup(const CliArgs& a, const sae::LoadedSae& loaded, SaeClassCount classes);

// The SAE benchmarks (SaeBenchCommand.cpp), dispatched from `prisma bench`.
int benchSaeTrainCommand(const Args& args, std::ostream& out);  // `bench sae-train`
int benchFeatureDbCommand(const Args& args, std::ostream& out);  // `bench feature-db`

}  // namespace prisma::cli
