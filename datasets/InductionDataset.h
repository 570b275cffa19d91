#pragma once
// ViT-Prisma's (monogenic) induction dataset: two shapes 7 px apart on a 32×32 canvas,
// side by side or one above the other, the label saying the orientation and whether the
// two shapes are the same. Items are rendered on demand from a few bytes each.

#include "datasets/Dataset.h"
#include "datasets/InductionShapes.h"
#include "datasets/Splits.h"

#include <cstdint>
#include <vector>

namespace prisma::datasets {

class InductionDataset : public Dataset {
public:
  static constexpr int kImageSize = 32;
  static constexpr int kClassCount = 4;
  // 2 orientations × 24 rows × 17 columns × 16 shape pairs.
  static constexpr std::size_t kRawCount = 13056;
  static constexpr double kTestFraction = 0.1;

  explicit InductionDataset(std::uint64_t seed = kDefaultSeed);

  std::string name() const override { return "induction"; }
  std::size_t size(Split split) const override;
  std::vector<std::string> classNames() const override;
  ImageShape imageShape() const override { return {kImageSize, kImageSize, 1}; }
  Item item(Split split, std::size_t index) const override;
  int label(Split split, std::size_t index) const override;
  std::vector<std::string> factorNames() const override;

  // Raw images the original enumerates before balancing (kRawCount).
  std::size_t rawCount() const { return items_.rawCount; }

private:
  // One raw image of the original enumeration; (row, col) of shape A before the
  // vertical images are transposed.
  struct Layout {
    std::uint8_t shapeA = 0;
    std::uint8_t shapeB = 0;
    bool vertical = false;
    std::uint8_t row = 0;
    std::uint8_t col = 0;
  };
  static int labelOf(const Layout& layout);
  const Layout& layout(Split split, std::size_t index) const;

  BalancedItems<Layout> items_;
};

}  // namespace prisma::datasets
