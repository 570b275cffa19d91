#pragma once
// Tensor -> QImage for display: undo the model's normalisation so the user sees the
// pixels the model sees (after resizing), not the normalised values.

#include "datasets/Preprocess.h"

#include <torch/types.h>

#include <QImage>

namespace prisma::app {

// `chw` is one preprocessed input [C, H, W]; grey inputs give a grey image.
QImage tensorToImage(const torch::Tensor& chw, const datasets::Preprocess& preprocess);

}  // namespace prisma::app
