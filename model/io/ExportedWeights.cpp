// The exporters' view of a HookedViT's weights (see ExportedWeights.h).

#include "model/io/ExportedWeights.h"

#include <torch/torch.h>

namespace prisma::io {

ExportedWeights::ExportedWeights(const HookedViTImpl& model) : ours_(stateDict(model)), d_model_(model.cfg().d_model) {}

torch::Tensor ExportedWeights::getOrZeros(const std::string& name) const {
  return has(name) ? get(name) : torch::zeros({d_model_});
}

torch::Tensor ExportedWeights::lnWeight(const std::string& ln) const {
  return has(ln + ".w") ? get(ln + ".w") : torch::ones({d_model_});
}

torch::Tensor ExportedWeights::lnBias(const std::string& ln) const { return getOrZeros(ln + ".b"); }

}  // namespace prisma::io
