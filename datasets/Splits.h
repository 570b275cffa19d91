#pragma once
// Seeded train/test splits shared by the generated datasets: a plain random split
// (Circle, dSprites) and the original induction recipe's class balancing followed by a
// per-class split.

#include "datasets/Random.h"

#include <cstddef>
#include <vector>

namespace prisma::datasets {

struct SplitIndices {
  std::vector<std::size_t> train;
  std::vector<std::size_t> test;
};

// Items that go to the test split, rounded up as scikit-learn's train_test_split does
// (the original recipes split with it): 10 % of 1,632 is 164.
std::size_t testCount(std::size_t n, double testFraction);

// Indices 0..n-1 shuffled, the last testCount(n) of them forming the test split.
SplitIndices randomSplit(std::size_t n, double testFraction, Rng& rng);

// Samples the same number of raw items from every class (the smallest class's size),
// splits each class by testFraction, then shuffles each split. rawLabels[i] in
// [0, classCount). Returns raw indices.
SplitIndices balancedSplit(const std::vector<int>& rawLabels, int classCount,
                           double testFraction, Rng& rng);

}  // namespace prisma::datasets
