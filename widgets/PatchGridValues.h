#pragma once
// A value per image patch, row-major over the patch grid: what every heatmap in the
// explorer draws (one head's attention for a query, rollout, relevancy, a patching row).

#include <QVector>

#include <algorithm>

namespace prisma::widgets {

struct PatchGridValues {
  int rows = 0;
  int cols = 0;
  QVector<float> values;  // [rows * cols]

  bool isEmpty() const { return rows <= 0 || cols <= 0 || values.size() != rows * cols; }
  float at(int row, int col) const { return values[row * cols + col]; }
  float minValue() const { return isEmpty() ? 0.0f : *std::min_element(values.begin(), values.end()); }
  float maxValue() const { return isEmpty() ? 0.0f : *std::max_element(values.begin(), values.end()); }
};

}  // namespace prisma::widgets
