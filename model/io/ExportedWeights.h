#pragma once
// What the exporters (Hugging Face, timm) read of a HookedViT.

#include "model/vit/HookedViT.h"
#include "model/vit/StateDict.h"

#include <string>

namespace prisma::io {

// A HookedViT's weights as the exporters read them: contiguous tensors by HookedViT name,
// and LayerNorm parameters as a plain LayerNorm's -- an LNPre (folded) LayerNorm, which
// has none, is one with unit weight and zero bias.
class ExportedWeights {
public:
  explicit ExportedWeights(const HookedViTImpl& model);

  bool has(const std::string& name) const { return ours_.count(name) != 0; }
  torch::Tensor get(const std::string& name) const { return ours_.at(name).contiguous(); }
  // `name`, or zeros of width d_model where the model has none (e.g. a bias-free patch embedding).
  torch::Tensor getOrZeros(const std::string& name) const;
  torch::Tensor lnWeight(const std::string& ln) const;  // ln: "blocks.0.ln1", "ln_final", ...
  torch::Tensor lnBias(const std::string& ln) const;

private:
  StateDict ours_;
  int64_t d_model_;
};

}  // namespace prisma::io
