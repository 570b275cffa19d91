// The original polygenic recipe, including its quirks: the untransposed layout stacks the
// shapes down one column, and the original's "vertical" flag transposes it, so its labels
// 0–5 show a horizontal row of shapes. Labels keep the original numbering (so models
// trained on the original data read the same classes); class names say what is seen.
// Pattern AAAA is enumerated for all 16 (A, B) pairs although B is unused, as in the
// original, which is why balancing samples it down to the other patterns' count.

#include "datasets/PolygenicInductionDataset.h"

#include "datasets/Splits.h"

#include <set>

namespace prisma::datasets {
namespace {

constexpr int kPadding = 4;
constexpr int kOffset = 7;
constexpr int kMaxShapeSize = 5;
constexpr int kFirstPosition = kPadding + kMaxShapeSize;
constexpr int kRowEnd = PolygenicInductionDataset::kImageSize - 3 * kOffset - 2 * kFirstPosition;
constexpr int kColEnd = PolygenicInductionDataset::kImageSize - kFirstPosition;

// Which of A (0) and B (1) sits in each of the four places, in the original's label order.
constexpr std::array<std::array<int, PolygenicInductionDataset::kShapesPerImage>,
                     PolygenicInductionDataset::kPatternCount>
    kPatterns = {{{0, 0, 0, 0}, {0, 1, 0, 1}, {0, 1, 1, 0}, {0, 0, 1, 1}, {0, 1, 1, 1}, {0, 0, 0, 1}}};
constexpr std::array<const char*, PolygenicInductionDataset::kPatternCount> kPatternNames = {
    "AAAA", "ABAB", "ABBA", "AABB", "ABBB", "AAAB"};

int distinctLetters(int pattern) {
  const std::set<int> letters(kPatterns[pattern].begin(), kPatterns[pattern].end());
  return static_cast<int>(letters.size());
}

}  // namespace

int PolygenicInductionDataset::labelOf(const Layout& layout) {
  return layout.pattern + (layout.transposed ? 0 : kPatternCount);
}

PolygenicInductionDataset::PolygenicInductionDataset(std::uint64_t seed) {
  std::vector<Layout> raw;
  for (bool transposed : {true, false})
    for (int row = kFirstPosition; row < kRowEnd; ++row)
      for (int col = kFirstPosition; col < kColEnd; ++col)
        for (int a = 0; a < kInductionShapeCount; ++a)
          for (int b = 0; b < kInductionShapeCount; ++b)
            for (int pattern = 0; pattern < kPatternCount; ++pattern) {
              // The original keeps a layout only when the drawn shapes are as distinct
              // as the pattern's letters.
              const int drawnDistinct = (distinctLetters(pattern) == 1 || a == b) ? 1 : 2;
              if (drawnDistinct != distinctLetters(pattern)) continue;
              raw.push_back({static_cast<std::uint8_t>(pattern), static_cast<std::uint8_t>(a),
                             static_cast<std::uint8_t>(b), transposed,
                             static_cast<std::uint8_t>(row), static_cast<std::uint8_t>(col)});
            }
  items_ = splitBalanced(raw, labelOf, kClassCount, kTestFraction, seed);
}

std::size_t PolygenicInductionDataset::size(Split split) const {
  return items_.of(split).size();
}

std::vector<std::string> PolygenicInductionDataset::classNames() const {
  std::vector<std::string> names;
  for (const char* orientation : {"horizontal ", "vertical "})
    for (const char* pattern : kPatternNames) names.push_back(orientation + std::string(pattern));
  return names;
}

std::vector<std::string> PolygenicInductionDataset::factorNames() const {
  return {"pattern", "shape_a", "shape_b", "vertical", "row", "col"};
}

const PolygenicInductionDataset::Layout& PolygenicInductionDataset::layout(
    Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  return items_.of(split)[index];
}

int PolygenicInductionDataset::label(Split split, std::size_t index) const {
  return labelOf(layout(split, index));
}

Item PolygenicInductionDataset::item(Split split, std::size_t index) const {
  const Layout& l = layout(split, index);
  Item out;
  out.height = out.width = kImageSize;
  out.channels = 1;
  out.pixels.assign(static_cast<std::size_t>(kImageSize) * kImageSize, 0);
  for (int place = 0; place < kShapesPerImage; ++place) {
    const int shape = kPatterns[l.pattern][place] == 0 ? l.shapeA : l.shapeB;
    drawInductionShape(out.pixels.data(), kImageSize, static_cast<InductionShape>(shape),
                       l.row + place * kOffset, l.col);
  }
  if (l.transposed) transposeSquare(out.pixels.data(), kImageSize);
  out.label = labelOf(l);
  // Untransposed images stack the shapes down a column: those are the vertical ones.
  out.factors = {{"pattern", l.pattern},
                 {"shape_a", l.shapeA},
                 {"shape_b", l.shapeB},
                 {"vertical", l.transposed ? 0.0 : 1.0},
                 {"row", l.transposed ? l.col : l.row},
                 {"col", l.transposed ? l.row : l.col}};
  return out;
}

}  // namespace prisma::datasets
