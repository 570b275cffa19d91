#pragma once
// Seeded train/test splits shared by the generated datasets: a plain random split
// (Circle, dSprites) and the original induction recipe's class balancing followed by a
// per-class split.

#include "datasets/Dataset.h"
#include "datasets/Random.h"

#include <cstddef>
#include <cstdint>
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

// The raw items of a generated dataset after balancedSplit, kept by value: the induction
// datasets store a small layout per image and draw the image on demand.
template <typename Item>
struct BalancedItems {
  std::vector<Item> train, test;
  std::size_t rawCount = 0;

  const std::vector<Item>& of(Split split) const { return split == Split::Train ? train : test; }
};

template <typename Item, typename LabelOf>
BalancedItems<Item> splitBalanced(const std::vector<Item>& raw, LabelOf labelOf, int classCount,
                                  double testFraction, std::uint64_t seed) {
  std::vector<int> labels;
  labels.reserve(raw.size());
  for (const Item& item : raw) labels.push_back(labelOf(item));
  Rng rng(seed);
  const SplitIndices split = balancedSplit(labels, classCount, testFraction, rng);
  BalancedItems<Item> items;
  items.rawCount = raw.size();
  items.train.reserve(split.train.size());
  items.test.reserve(split.test.size());
  for (std::size_t i : split.train) items.train.push_back(raw[i]);
  for (std::size_t i : split.test) items.test.push_back(raw[i]);
  return items;
}

}  // namespace prisma::datasets
