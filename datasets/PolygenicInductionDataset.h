#pragma once
// ViT-Prisma's polygenic induction dataset: four shapes 7 px apart in a line on a 64×64
// canvas, in one of six A/B patterns, horizontal or vertical: 12 classes. Items are
// rendered on demand.

#include "datasets/Dataset.h"
#include "datasets/InductionShapes.h"
#include "datasets/Splits.h"

#include <array>
#include <cstdint>
#include <vector>

namespace prisma::datasets {

class PolygenicInductionDataset : public Dataset {
public:
  static constexpr int kImageSize = 64;
  static constexpr int kShapesPerImage = 4;
  static constexpr int kPatternCount = 6;
  static constexpr int kClassCount = 2 * kPatternCount;
  static constexpr double kTestFraction = 0.1;

  explicit PolygenicInductionDataset(std::uint64_t seed = kDefaultSeed);

  std::string name() const override { return "induction-polygenic"; }
  std::size_t size(Split split) const override;
  std::vector<std::string> classNames() const override;
  ImageShape imageShape() const override { return {kImageSize, kImageSize, 1}; }
  Item item(Split split, std::size_t index) const override;
  int label(Split split, std::size_t index) const override;
  std::vector<std::string> factorNames() const override;

  // Raw images the original enumerates before balancing.
  std::size_t rawCount() const { return items_.rawCount; }

private:
  struct Layout {
    std::uint8_t pattern = 0;  // index into the six A/B patterns
    std::uint8_t shapeA = 0;
    std::uint8_t shapeB = 0;
    bool transposed = false;
    std::uint8_t row = 0;  // first shape's centre before transposing
    std::uint8_t col = 0;
  };
  static int labelOf(const Layout& layout);
  const Layout& layout(Split split, std::size_t index) const;

  BalancedItems<Layout> items_;
};

}  // namespace prisma::datasets
