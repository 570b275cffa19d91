#include "model/vit/Embedding.h"

#include "model/Error.h"

#include <torch/torch.h>

namespace prisma {

PatchEmbedImpl::PatchEmbedImpl(const ViTConfig& cfg) : cfg_(cfg) {
  proj = register_module("proj", std::make_shared<torch::nn::Module>("proj"));
  weight = proj->register_parameter(
      "weight", torch::zeros({cfg.d_model, cfg.n_channels, cfg.patch_size, cfg.patch_size}));
  if (cfg.patch_bias) bias = proj->register_parameter("bias", torch::zeros({cfg.d_model}));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& pixels) {
  const int64_t C = cfg_.n_channels, S = cfg_.image_size, P = cfg_.patch_size;
  // With position interpolation any multiple of the patch size fits (HookedViT resizes W_pos).
  const bool any_size = cfg_.pos_interpolation != PosInterpolation::None && pixels.dim() == 4 &&
                        pixels.size(2) >= P && pixels.size(3) >= P && pixels.size(2) % P == 0 && pixels.size(3) % P == 0;
  if (pixels.dim() != 4 || pixels.size(1) != C || (!any_size && (pixels.size(2) != S || pixels.size(3) != S))) {
    std::string got = "[";
    for (int64_t i = 0; i < pixels.dim(); ++i) got += (i ? ", " : "") + std::to_string(pixels.size(i));
    throw Error("input", "pixel_values",
                "expected shape [batch, " + std::to_string(C) + ", " + std::to_string(S) + ", " +
                    std::to_string(S) + "], got " + got + "]");
  }
  const int64_t B = pixels.size(0), gh = pixels.size(2) / P, gw = pixels.size(3) / P;
  // [B, C, gh, P, gw, P] -> [B, gh, gw, C, P, P] -> [B, patches, C·P·P]
  torch::Tensor patches =
      pixels.reshape({B, C, gh, P, gw, P}).permute({0, 2, 4, 1, 3, 5}).reshape({B, gh * gw, C * P * P});
  torch::Tensor kernel = weight.reshape({cfg_.d_model, C * P * P}).t();  // [C·P·P, D]
  torch::Tensor out = torch::matmul(patches, kernel);                     // [B, patches, D]
  if (bias.defined()) out = out + bias;
  return out;
}

PosEmbedImpl::PosEmbedImpl(const ViTConfig& cfg) {
  W_pos = register_parameter("W_pos", torch::zeros({cfg.n_tokens(), cfg.d_model}));
}

torch::Tensor PosEmbedImpl::forward(int64_t batch) {
  return W_pos.unsqueeze(0).expand({batch, W_pos.size(0), W_pos.size(1)});
}

}  // namespace prisma
