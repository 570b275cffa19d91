// Pixel-exact ports of the original draw_circle / draw_line / draw_x / draw_diagonal.

#include "datasets/InductionShapes.h"

#include <utility>

namespace prisma::datasets {
namespace {

constexpr int kDiskRadius = 2;
// The original passes length 4 and draws i in [-4/2, 4/2], i.e. 5 pixels.
constexpr int kLineHalfLength = 2;
constexpr int kCrossSize = 5;

void plot(std::uint8_t* canvas, int size, int row, int col) {
  if (row >= 0 && row < size && col >= 0 && col < size)
    canvas[static_cast<std::size_t>(row) * size + col] = kInductionInk;
}

}  // namespace

std::string toString(InductionShape shape) {
  switch (shape) {
    case InductionShape::Disk: return "disk";
    case InductionShape::Line: return "line";
    case InductionShape::Cross: return "x";
    case InductionShape::Diagonal: return "diagonal";
  }
  return "disk";
}

void drawInductionShape(std::uint8_t* canvas, int size, InductionShape shape, int row, int col) {
  switch (shape) {
    case InductionShape::Disk:
      for (int dr = -kDiskRadius; dr <= kDiskRadius; ++dr)
        for (int dc = -kDiskRadius; dc <= kDiskRadius; ++dc)
          if (dr * dr + dc * dc <= kDiskRadius * kDiskRadius) plot(canvas, size, row + dr, col + dc);
      break;
    case InductionShape::Line:  // one column, down the rows
      for (int i = -kLineHalfLength; i <= kLineHalfLength; ++i) plot(canvas, size, row + i, col);
      break;
    case InductionShape::Cross:
      for (int i = 0; i < kCrossSize; ++i) {
        plot(canvas, size, row - kCrossSize / 2 + i, col - kCrossSize / 2 + i);
        plot(canvas, size, row - kCrossSize / 2 + i, col + kCrossSize / 2 - i);
      }
      break;
    case InductionShape::Diagonal:
      for (int i = -kLineHalfLength; i <= kLineHalfLength; ++i) plot(canvas, size, row + i, col + i);
      break;
  }
}

void transposeSquare(std::uint8_t* canvas, int size) {
  for (int r = 0; r < size; ++r)
    for (int c = r + 1; c < size; ++c)
      std::swap(canvas[static_cast<std::size_t>(r) * size + c],
                canvas[static_cast<std::size_t>(c) * size + r]);
}

}  // namespace prisma::datasets
