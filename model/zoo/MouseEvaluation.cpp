#include "model/zoo/MouseEvaluation.h"

#include "datasets/DatasetRegistry.h"
#include "model/Error.h"

#include <nlohmann/json.hpp>

namespace prisma::zoo {

EvalDataset evalDatasetOf(const train::DatasetConfig& c) {
  EvalDataset d;
  d.name = c.name;
  d.seed = c.seed;
  d.test_fraction = c.test_fraction;
  d.label_factor = c.label_factor;
  d.subsample = c.subsample;
  d.path = c.path;
  return d;
}

nlohmann::json toJson(const EvalDataset& d) {
  return {{"name", d.name},         {"seed", d.seed},         {"test_fraction", d.test_fraction},
          {"label_factor", d.label_factor}, {"subsample", d.subsample}, {"path", d.path}};
}

EvalDataset evalDatasetFromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source, "dataset", "must be an object");
  EvalDataset d;
  try {
    d.name = j.at("name").get<std::string>();
    d.seed = j.value("seed", d.seed);
    d.test_fraction = j.value("test_fraction", d.test_fraction);
    d.label_factor = j.value("label_factor", d.label_factor);
    d.subsample = j.value("subsample", d.subsample);
    d.path = j.value("path", d.path);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source, "dataset", std::string("malformed: ") + e.what());
  }
  return d;
}

train::EvalMetrics evaluateModel(const io::LoadedModel& model, const EvalDataset& d, train::Part part, int batch) {
  datasets::DatasetOptions o;
  o.seed = d.seed;
  o.labelFactor = d.label_factor;
  o.subsample = d.subsample;
  o.path = d.path;
  std::shared_ptr<const datasets::Dataset> dataset;
  try {
    datasets::checkLabelFactor(d.name, o);
    dataset = datasets::makeDataset(d.name, o);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(d.path.empty() ? d.name : d.path, "dataset", e.what());
  }
  train::TrainingDataOptions dopt;
  dopt.split_seed = d.seed;
  dopt.test_fraction = d.test_fraction;
  dopt.n_classes = model.model->cfg().n_classes;
  // Evaluation reads each item once: rendering a part up front would only add memory.
  dopt.cache_budget_bytes = 0;
  if (static_cast<int>(dataset->classNames().size()) != dopt.n_classes)
    throw Error(d.name, "dataset", "has " + std::to_string(dataset->classNames().size()) + " classes but the model " +
                                       std::to_string(dopt.n_classes));
  const train::TrainingData data(dataset, model.preprocess, dopt);
  return train::evaluate(*model.model.ptr(), data, part, data.evalSubset(part, 0), batch);
}

}  // namespace prisma::zoo
