#pragma once
// Helpers shared by the model test suites: fixture paths and tensor comparisons.

#include "model/io/SafeTensors.h"

#include <torch/torch.h>

#include <QString>

#include <string>

namespace prisma::test {

inline std::string fixture(const std::string& relative) {
  return std::string(PRISMA_FIXTURES_DIR) + "/" + relative;
}

// ||a - b|| / ||b||, the measure the fixtures README states tolerances in.
inline double relL2(const torch::Tensor& a, const torch::Tensor& b) {
  const auto fa = a.to(torch::kFloat64), fb = b.to(torch::kFloat64);
  return ((fa - fb).norm() / fb.norm()).item<double>();
}

inline QString shapeOf(const torch::Tensor& t) {
  QString s = QStringLiteral("[");
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? QStringLiteral(", ") : QString()) + QString::number(t.size(i));
  return s + QStringLiteral("]");
}

}  // namespace prisma::test
