#pragma once
// The four small shapes of ViT-Prisma's induction datasets, drawn exactly as the original
// recipe does (pixel for pixel), on a square single-channel canvas.

#include <cstdint>
#include <string>

namespace prisma::datasets {

// In the original's order: its labels and metadata index the shapes this way.
enum class InductionShape { Disk, Line, Cross, Diagonal };

inline constexpr int kInductionShapeCount = 4;
// Value of a shape pixel; the background is 0. Full white, so that the usual /255 scaling
// gives the original's 1.0.
inline constexpr std::uint8_t kInductionInk = 255;

std::string toString(InductionShape shape);  // "disk", "line", "x", "diagonal"

// Draws `shape` centred at (row, col) into a size×size row-major canvas. Pixels that fall
// outside the canvas are dropped.
void drawInductionShape(std::uint8_t* canvas, int size, InductionShape shape, int row, int col);

// Swaps rows and columns in place: the original makes its "vertical" images this way.
void transposeSquare(std::uint8_t* canvas, int size);

}  // namespace prisma::datasets
