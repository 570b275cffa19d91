// Seeded splits; every random choice goes through Rng so a seed fixes the result.

#include "datasets/Splits.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace prisma::datasets {

std::size_t testCount(std::size_t n, double testFraction) {
  if (testFraction < 0.0 || testFraction > 1.0)
    throw std::invalid_argument("test fraction must be in [0, 1]");
  return static_cast<std::size_t>(std::ceil(testFraction * static_cast<double>(n)));
}

SplitIndices randomSplit(std::size_t n, double testFraction, Rng& rng) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  rng.shuffle(order);
  const std::size_t nTest = testCount(n, testFraction);
  SplitIndices out;
  out.train.assign(order.begin(), order.end() - static_cast<std::ptrdiff_t>(nTest));
  out.test.assign(order.end() - static_cast<std::ptrdiff_t>(nTest), order.end());
  return out;
}

SplitIndices balancedSplit(const std::vector<int>& rawLabels, int classCount,
                           double testFraction, Rng& rng) {
  std::vector<std::vector<std::size_t>> byClass(classCount);
  for (std::size_t i = 0; i < rawLabels.size(); ++i) {
    const int label = rawLabels[i];
    if (label < 0 || label >= classCount)
      throw std::invalid_argument("balancedSplit: label out of range");
    byClass[label].push_back(i);
  }
  std::size_t perClass = rawLabels.empty() ? 0 : rawLabels.size();
  for (const auto& members : byClass) perClass = std::min(perClass, members.size());

  SplitIndices out;
  const std::size_t nTest = testCount(perClass, testFraction);
  for (auto& members : byClass) {
    // A shuffle then a prefix is a uniform sample without replacement, already in
    // random order, so the per-class split can take its test items from the front.
    rng.shuffle(members);
    out.test.insert(out.test.end(), members.begin(),
                    members.begin() + static_cast<std::ptrdiff_t>(nTest));
    out.train.insert(out.train.end(), members.begin() + static_cast<std::ptrdiff_t>(nTest),
                     members.begin() + static_cast<std::ptrdiff_t>(perClass));
  }
  rng.shuffle(out.train);
  rng.shuffle(out.test);
  return out;
}

}  // namespace prisma::datasets
