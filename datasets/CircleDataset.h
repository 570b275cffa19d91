#pragma once
// The "circle" modular-arithmetic dataset: a ring of 60 points with two of them, a and b,
// marked; the label is (a + b) mod 60. Every unordered pair of distinct operands appears
// once, split 50/50 at random.

#include "datasets/Dataset.h"
#include "datasets/Random.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace prisma::datasets {

class CircleDataset : public Dataset {
public:
  static constexpr int kImageSize = 32;
  static constexpr int kModulus = 60;  // points on the ring, and classes
  static constexpr std::size_t kPairCount = kModulus * (kModulus - 1) / 2;  // 1,770
  static constexpr double kTestFraction = 0.5;

  static constexpr std::uint8_t kBackground = 255;
  static constexpr std::uint8_t kRingInk = 0;
  static constexpr std::uint8_t kOperandInk = 128;
  static constexpr double kCentre = 16.0;
  static constexpr double kRingRadius = 15.5;
  // Operands are marked on a ring just inside the points, not on them: every one of the
  // 60 ring points stays visible, and the operand is still read by its angle. The 60
  // operand positions at this radius are distinct pixels.
  static constexpr double kOperandRadius = 13.5;

  explicit CircleDataset(std::uint64_t seed = kDefaultSeed);

  std::string name() const override { return "circle"; }
  std::size_t size(Split split) const override;
  std::vector<std::string> classNames() const override;
  ImageShape imageShape() const override { return {kImageSize, kImageSize, 1}; }
  Item item(Split split, std::size_t index) const override;
  int label(Split split, std::size_t index) const override;
  std::vector<std::string> factorNames() const override { return {"a", "b"}; }

  // Pixel (row, col) of position k (angle k·6°, counter-clockwise from 3 o'clock, y up)
  // on a ring of the given radius.
  static std::pair<int, int> pointAt(int k, double radius);

private:
  using Pair = std::pair<std::uint8_t, std::uint8_t>;
  const Pair& pair(Split split, std::size_t index) const;

  std::vector<Pair> train_;
  std::vector<Pair> test_;
};

}  // namespace prisma::datasets
