// Pairs in itertools.combinations order, shuffled with the seed, first half train.

#include "datasets/CircleDataset.h"

#include "datasets/Splits.h"

#include <cmath>

namespace prisma::datasets {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDegreesPerStep = 360.0 / CircleDataset::kModulus;

}  // namespace

CircleDataset::CircleDataset(std::uint64_t seed) {
  std::vector<Pair> pairs;
  pairs.reserve(kPairCount);
  for (int a = 0; a < kModulus; ++a)
    for (int b = a + 1; b < kModulus; ++b)
      pairs.emplace_back(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b));

  Rng rng(seed);
  const SplitIndices split = randomSplit(pairs.size(), kTestFraction, rng);
  for (std::size_t i : split.train) train_.push_back(pairs[i]);
  for (std::size_t i : split.test) test_.push_back(pairs[i]);
}

std::pair<int, int> CircleDataset::pointAt(int k, double radius) {
  const double angle = k * kDegreesPerStep * kPi / 180.0;
  // Flooring keeps radius 15.5 around 16 inside [0, 31] and the 60 points distinct.
  const int row = static_cast<int>(std::floor(kCentre - radius * std::sin(angle)));
  const int col = static_cast<int>(std::floor(kCentre + radius * std::cos(angle)));
  return {row, col};
}

std::size_t CircleDataset::size(Split split) const {
  return split == Split::Train ? train_.size() : test_.size();
}

std::vector<std::string> CircleDataset::classNames() const {
  std::vector<std::string> names;
  for (int k = 0; k < kModulus; ++k) names.push_back(std::to_string(k));
  return names;
}

const CircleDataset::Pair& CircleDataset::pair(Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  return split == Split::Train ? train_[index] : test_[index];
}

int CircleDataset::label(Split split, std::size_t index) const {
  const Pair& p = pair(split, index);
  return (p.first + p.second) % kModulus;
}

Item CircleDataset::item(Split split, std::size_t index) const {
  const Pair& p = pair(split, index);
  Item out;
  out.height = out.width = kImageSize;
  out.channels = 1;
  out.pixels.assign(static_cast<std::size_t>(kImageSize) * kImageSize, kBackground);
  auto put = [&](std::pair<int, int> at, std::uint8_t value) {
    out.pixels[static_cast<std::size_t>(at.first) * kImageSize + at.second] = value;
  };
  for (int k = 0; k < kModulus; ++k) put(pointAt(k, kRingRadius), kRingInk);
  put(pointAt(p.first, kOperandRadius), kOperandInk);
  put(pointAt(p.second, kOperandRadius), kOperandInk);
  out.label = (p.first + p.second) % kModulus;
  out.factors = {{"a", p.first}, {"b", p.second}};
  return out;
}

}  // namespace prisma::datasets
