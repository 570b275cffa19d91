#pragma once
// Helpers shared by the model test suites: fixture paths, whole-file text I/O and tensor
// comparisons.

#include "model/io/SafeTensors.h"

#include <torch/torch.h>

#include <QString>

#include <fstream>
#include <iterator>
#include <string>

namespace prisma::test {

// A file's bytes as a string ("" when it cannot be read).
inline std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Replaces the file at `path` with `text`.
inline void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

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
