#include "model/vit/PosInterpolation.h"

#include "model/Error.h"

#include <torch/torch.h>

namespace prisma {

namespace {
constexpr double kDinoOffset = 0.1;  // DINOv2's interpolate_offset for its hub models without registers
}

torch::Tensor interpolatePositions(const torch::Tensor& W_pos, int prefix, int native_grid, int rows, int cols,
                                   PosInterpolation mode) {
  const int64_t D = W_pos.size(1), M = native_grid;
  if (rows == M && cols == M) return W_pos;
  if (mode == PosInterpolation::None)
    throw Error("input", "pixel_values", "the model takes only its native size (no position interpolation)");
  const torch::Tensor head = W_pos.narrow(0, 0, prefix);                                          // [prefix, D]
  const torch::Tensor grid = W_pos.narrow(0, prefix, M * M).reshape({1, M, M, D}).permute({0, 3, 1, 2});  // [1, D, M, M]
  torch::Tensor resized;
  if (mode == PosInterpolation::BicubicAntialias) {
    namespace F = torch::nn::functional;
    resized = F::interpolate(grid, F::InterpolateFuncOptions()
                                       .size(std::vector<int64_t>{rows, cols})
                                       .mode(torch::kBicubic)
                                       .align_corners(false)
                                       .antialias(true));
  } else {
    // F.interpolate(scale_factor=...) hands the scales to the kernel: src = (dst + 0.5) / scale - 0.5.
    resized = at::upsample_bicubic2d(grid, {rows, cols}, /*align_corners=*/false, (rows + kDinoOffset) / M,
                                     (cols + kDinoOffset) / M);
  }
  const torch::Tensor patches = resized.permute({0, 2, 3, 1}).reshape({rows * cols, D});  // [rows·cols, D]
  return torch::cat({head, patches}, 0);
}

}  // namespace prisma
