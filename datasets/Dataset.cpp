// Split names and the helpers every dataset shares.

#include "datasets/Dataset.h"

#include <stdexcept>

namespace prisma::datasets {

std::string toString(Split split) {
  return split == Split::Train ? "train" : "test";
}

Split splitFromString(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "test") return Split::Test;
  throw std::invalid_argument("unknown split '" + name + "' (expected train or test)");
}

std::vector<std::size_t> classCounts(const Dataset& dataset, Split split) {
  std::vector<std::size_t> counts(dataset.classNames().size(), 0);
  const std::size_t n = dataset.size(split);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = dataset.label(split, i);
    if (label < 0) continue;
    if (static_cast<std::size_t>(label) >= counts.size()) counts.resize(label + 1, 0);
    ++counts[label];
  }
  return counts;
}

void checkIndex(const Dataset& dataset, Split split, std::size_t index) {
  const std::size_t n = dataset.size(split);
  if (index >= n)
    throw std::out_of_range(dataset.name() + ": " + toString(split) + " index " +
                            std::to_string(index) + " out of range (size " +
                            std::to_string(n) + ")");
}

}  // namespace prisma::datasets
