// The set-up `prisma sae eval`, `sae features` and `bench feature-db` share; see SaeCli.h.

#include "app/cli/SaeCli.h"

#include "datasets/DatasetRegistry.h"

#include <algorithm>

namespace prisma::cli {

namespace {
constexpr int kDefaultBatch = 64;
}  // namespace

const std::vector<std::string>& saeDataOptionNames() {
  static const std::vector<std::string> names = {"model", "dataset", "dataset-path", "seed", "split", "limit", "batch"};
  return names;
}

SaeDataSetup saeDataSetup(const CliArgs& a, const sae::LoadedSae& loaded, SaeClassCount classes) {
  SaeDataSetup s;
  s.model_spec = a.has("model") ? a.required("model") : loaded.sae->cfg().model_name;
  if (s.model_spec.empty()) throw UsageError("--model is needed: the SAE does not name its model");
  s.split = a.value("split", "test");
  if (s.split != "test" && s.split != "train") throw UsageError("--split must be test or train");
  s.part = s.split == "test" ? train::Part::Test : train::Part::Train;
  s.limit = size_t(a.intValue("limit", 0, kNonNegative));
  s.batch = a.intValue("batch", kDefaultBatch, kCount);
  s.model = io::loadModel(s.model_spec);
  datasets::DatasetOptions dopt;
  dopt.path = a.value("dataset-path");
  dopt.seed = uint64_t(a.intValue("seed", int(datasets::kDefaultSeed), kNonNegative));
  s.dataset = datasets::makeDataset(a.required("dataset"), dopt);
  s.dataset_path = dopt.path;
  s.seed = dopt.seed;
  train::TrainingDataOptions topt;
  topt.split_seed = dopt.seed;
  const int dataset_classes = int(s.dataset->classNames().size());
  topt.n_classes = std::max(1, classes == SaeClassCount::DatasetOrModel
                                   ? std::max(s.model.model->cfg().n_classes, dataset_classes)
                                   : dataset_classes);
  s.data = std::make_unique<train::TrainingData>(s.dataset, s.model.preprocess, topt);
  return s;
}

}  // namespace prisma::cli
