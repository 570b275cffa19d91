#pragma once
// Position embeddings for an input of another size, resized exactly as the library the
// weights came from does it (ViTConfig::pos_interpolation): the patch rows form the native
// grid, which torch's bicubic interpolate resizes to the new grid -- antialiased with the
// output size (timm's resample_abs_pos_embed, DINOv2 with registers), or plain with the
// scale factor (grid + 0.1) / native (DINOv2's historical offset; the sampling positions
// follow the scale, not the size). Prefix rows (CLS, registers) are kept as they are.

#include "model/vit/Config.h"

#include <torch/types.h>

namespace prisma {

// W_pos [prefix + native², D] -> [prefix + rows·cols, D], patch rows in row-major order.
torch::Tensor interpolatePositions(const torch::Tensor& W_pos, int prefix, int native_grid, int rows, int cols,
                                   PosInterpolation mode);

}  // namespace prisma
