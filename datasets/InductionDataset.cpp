// The original recipe: enumerate every layout, balance the four classes by sampling,
// split each class 90/10, shuffle.

#include "datasets/InductionDataset.h"

#include "datasets/Splits.h"

namespace prisma::datasets {
namespace {

// Shapes stay this far from the canvas edge, and B sits this far right of A.
constexpr int kPadding = 4;
constexpr int kOffset = 7;

enum Label { kVerticalSame = 0, kVerticalDifferent = 1, kHorizontalSame = 2, kHorizontalDifferent = 3 };

}  // namespace

int InductionDataset::labelOf(const Layout& layout) {
  const bool same = layout.shapeA == layout.shapeB;
  if (layout.vertical) return same ? kVerticalSame : kVerticalDifferent;
  return same ? kHorizontalSame : kHorizontalDifferent;
}

InductionDataset::InductionDataset(std::uint64_t seed) {
  std::vector<Layout> raw;
  raw.reserve(kRawCount);
  for (bool vertical : {true, false})
    for (int row = kPadding; row < kImageSize - kPadding; ++row)
      for (int col = kPadding; col < kImageSize - kPadding - kOffset; ++col)
        for (int a = 0; a < kInductionShapeCount; ++a)
          for (int b = 0; b < kInductionShapeCount; ++b)
            raw.push_back({static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), vertical,
                           static_cast<std::uint8_t>(row), static_cast<std::uint8_t>(col)});

  items_ = splitBalanced(raw, labelOf, kClassCount, kTestFraction, seed);
}

std::size_t InductionDataset::size(Split split) const {
  return items_.of(split).size();
}

std::vector<std::string> InductionDataset::classNames() const {
  return {"vertical-same", "vertical-different", "horizontal-same", "horizontal-different"};
}

std::vector<std::string> InductionDataset::factorNames() const {
  return {"shape_a", "shape_b", "vertical", "row_a", "col_a", "row_b", "col_b"};
}

const InductionDataset::Layout& InductionDataset::layout(Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  return items_.of(split)[index];
}

int InductionDataset::label(Split split, std::size_t index) const {
  return labelOf(layout(split, index));
}

Item InductionDataset::item(Split split, std::size_t index) const {
  const Layout& l = layout(split, index);
  Item out;
  out.height = out.width = kImageSize;
  out.channels = 1;
  out.pixels.assign(static_cast<std::size_t>(kImageSize) * kImageSize, 0);
  drawInductionShape(out.pixels.data(), kImageSize, static_cast<InductionShape>(l.shapeA), l.row,
                     l.col);
  drawInductionShape(out.pixels.data(), kImageSize, static_cast<InductionShape>(l.shapeB), l.row,
                     l.col + kOffset);
  if (l.vertical) transposeSquare(out.pixels.data(), kImageSize);
  out.label = labelOf(l);

  // Centres as they are in the final image.
  const int rowA = l.vertical ? l.col : l.row;
  const int colA = l.vertical ? l.row : l.col;
  out.factors = {{"shape_a", l.shapeA},
                 {"shape_b", l.shapeB},
                 {"vertical", l.vertical ? 1.0 : 0.0},
                 {"row_a", rowA},
                 {"col_a", colA},
                 {"row_b", l.vertical ? rowA + kOffset : rowA},
                 {"col_b", l.vertical ? colA : colA + kOffset}};
  return out;
}

}  // namespace prisma::datasets
