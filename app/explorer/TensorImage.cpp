#include <torch/torch.h>

#include "app/explorer/TensorImage.h"

namespace prisma::app {

namespace {
constexpr double kMaxByte = 255.0;
}

QImage tensorToImage(const torch::Tensor& chw, const datasets::Preprocess& pre) {
  const int64_t C = chw.size(0), H = chw.size(1), W = chw.size(2);
  torch::Tensor x = chw.detach().to(torch::kFloat32).clone();
  for (int64_t c = 0; c < C && c < static_cast<int64_t>(pre.mean.size()); ++c)
    x[c].mul_(pre.std[c]).add_(pre.mean[c]);
  torch::Tensor bytes = (x.clamp(0.0, 1.0) * kMaxByte).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  const bool grey = C == 1;
  QImage img(static_cast<int>(W), static_cast<int>(H), grey ? QImage::Format_Grayscale8 : QImage::Format_RGB888);
  const int64_t rowBytes = W * (grey ? 1 : 3);
  for (int64_t y = 0; y < H; ++y) {
    const uint8_t* src = bytes.data_ptr<uint8_t>() + y * W * C;
    if (grey || C == 3) std::memcpy(img.scanLine(static_cast<int>(y)), src, rowBytes);
  }
  return img;
}

}  // namespace prisma::app
