#pragma once
// Patch and position embeddings. The patch projection is a strided convolution in the
// reference libraries; here the image is cut into patches and multiplied by the flattened
// kernel, which is the same sum in one BLAS call.

#include "model/vit/Config.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace prisma {

class PatchEmbedImpl : public torch::nn::Module {
public:
  explicit PatchEmbedImpl(const ViTConfig& cfg);

  // [batch, C, H, W] -> [batch, patches, d_model], patches in row-major grid order.
  torch::Tensor forward(const torch::Tensor& pixels);

  // Holder of `proj.weight` [d_model, C, P, P] and `proj.bias` [d_model], the names of
  // the reference state dicts.
  std::shared_ptr<torch::nn::Module> proj;
  torch::Tensor weight, bias;

private:
  ViTConfig cfg_;
};
TORCH_MODULE(PatchEmbed);

class PosEmbedImpl : public torch::nn::Module {
public:
  explicit PosEmbedImpl(const ViTConfig& cfg);
  torch::Tensor forward(int64_t batch);  // [batch, tokens, d_model] (a broadcast view)

  torch::Tensor W_pos;  // [tokens, d_model]
};
TORCH_MODULE(PosEmbed);

}  // namespace prisma
