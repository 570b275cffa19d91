#include "model/train/Objective.h"

namespace prisma::train {

ScalarColumn stepScalarColumn(const std::string& name) {
  return {"train_batch_" + name, "train/batch_" + name};
}

ScalarColumn evaluationColumn(Part part, const std::string& name) {
  const std::string p = toString(part);
  return {p + "_" + name, p + "/" + name};
}

std::vector<ScalarColumn> objectiveColumns(const Objective& objective) {
  std::vector<ScalarColumn> columns;
  for (const auto& name : objective.stepScalarNames()) columns.push_back(stepScalarColumn(name));
  for (const Part part : {Part::Train, Part::Test})
    for (const auto& name : objective.evaluationScalarNames()) columns.push_back(evaluationColumn(part, name));
  return columns;
}

}  // namespace prisma::train
