// The SAE's forward pass and ViT-Prisma's loss terms; see SparseAutoencoder.h for the
// method. Every formula follows vit_prisma/sae/sae.py (encode_standard, forward, TopK,
// run_time_activation_ln_in/out) so that loaded SAEs reproduce its numbers.

#include "model/sae/SparseAutoencoder.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace prisma::sae {

namespace {
// ViT-Prisma's LayerNorm-style input normalisation adds this to the std before dividing
// (and does not when undoing it).
constexpr double kLayerNormEps = 1e-5;
}  // namespace

std::string activationName(Activation a) { return a == Activation::TopK ? "topk" : "relu"; }

std::string normalizationName(Normalization n) {
  switch (n) {
    case Normalization::None: return "none";
    case Normalization::LayerNorm: return "layer_norm";
    case Normalization::ConstantNormRescale: return "constant_norm_rescale";
  }
  return "none";
}

std::string tokenSelectionName(TokenSelection t) {
  switch (t) {
    case TokenSelection::All: return "all";
    case TokenSelection::Cls: return "cls";
    case TokenSelection::Patches: return "patches";
  }
  return "all";
}

Activation activationFromName(const std::string& name) {
  if (name == "relu") return Activation::Relu;
  if (name == "topk") return Activation::TopK;
  throw std::invalid_argument("unknown activation '" + name + "' (relu or topk)");
}

Normalization normalizationFromName(const std::string& name) {
  if (name == "none" || name.empty()) return Normalization::None;
  if (name == "layer_norm") return Normalization::LayerNorm;
  if (name == "constant_norm_rescale") return Normalization::ConstantNormRescale;
  throw std::invalid_argument("unknown normalisation '" + name + "' (none, layer_norm or constant_norm_rescale)");
}

TokenSelection tokenSelectionFromName(const std::string& name) {
  if (name == "all") return TokenSelection::All;
  if (name == "cls") return TokenSelection::Cls;
  if (name == "patches") return TokenSelection::Patches;
  throw std::invalid_argument("unknown token selection '" + name + "' (all, cls or patches)");
}

SparseAutoencoderImpl::SparseAutoencoderImpl(SaeConfig cfg) : cfg_(std::move(cfg)) {
  if (cfg_.d_in <= 0 || cfg_.d_sae <= 0) throw std::invalid_argument("SAE sizes must be positive");
  if (cfg_.activation == Activation::TopK && (cfg_.k <= 0 || cfg_.k > cfg_.d_sae))
    throw std::invalid_argument("TopK needs 0 < k <= d_sae");
  W_enc = register_parameter("W_enc", torch::zeros({cfg_.d_in, cfg_.d_sae}));
  b_enc = register_parameter("b_enc", torch::zeros({cfg_.d_sae}));
  W_dec = register_parameter("W_dec", torch::zeros({cfg_.d_sae, cfg_.d_in}));
  b_dec = register_parameter("b_dec", torch::zeros({cfg_.d_in}));
}

torch::Tensor SparseAutoencoderImpl::normalize(const torch::Tensor& x, RowStats& stats) const {
  switch (cfg_.normalization) {
    case Normalization::None: return x;
    case Normalization::LayerNorm: {
      stats.mean = x.mean(-1, /*keepdim=*/true);       // [rows, 1]
      const torch::Tensor centred = x - stats.mean;
      stats.scale = centred.std(-1, /*unbiased=*/true, /*keepdim=*/true);  // [rows, 1]
      return centred / (stats.scale + kLayerNormEps);
    }
    case Normalization::ConstantNormRescale: {
      const torch::Tensor factor = std::sqrt(static_cast<double>(cfg_.d_in)) / x.norm(2, -1, /*keepdim=*/true);
      stats.scale = 1.0 / factor;  // [rows, 1]
      return x * factor;
    }
  }
  return x;
}

torch::Tensor SparseAutoencoderImpl::unnormalize(const torch::Tensor& y, const RowStats& stats) const {
  switch (cfg_.normalization) {
    case Normalization::None: return y;
    case Normalization::LayerNorm:
      if (!stats.scale.defined()) return y;
      return y * stats.scale + stats.mean;
    case Normalization::ConstantNormRescale:
      if (!stats.scale.defined()) return y;
      return y * stats.scale;
  }
  return y;
}

torch::Tensor SparseAutoencoderImpl::activate(const torch::Tensor& hidden_pre) const {
  if (cfg_.activation == Activation::Relu) return torch::relu(hidden_pre);
  // TopK: the k largest pre-activations of each row, through a ReLU; the rest zero.
  auto [values, indices] = hidden_pre.topk(cfg_.k, -1);
  return torch::zeros_like(hidden_pre).scatter(-1, indices, torch::relu(values));
}

SaeForward SparseAutoencoderImpl::run(const torch::Tensor& x) const {
  SaeForward f;
  const torch::Tensor normalized = normalize(x.to(torch::kFloat32), f.stats);
  f.sae_in = cfg_.subtract_b_dec ? normalized - b_dec : normalized;  // [rows, d_in]
  f.hidden_pre = torch::addmm(b_enc, f.sae_in, W_enc);               // [rows, d_sae]
  f.feature_acts = activate(f.hidden_pre);
  f.sae_out = decode(f.feature_acts, f.stats);                       // [rows, d_in]
  return f;
}

torch::Tensor SparseAutoencoderImpl::encode(const torch::Tensor& x) const { return run(x).feature_acts; }

torch::Tensor SparseAutoencoderImpl::decode(const torch::Tensor& features, const RowStats& stats) const {
  return unnormalize(torch::addmm(b_dec, features, W_dec), stats);
}

void SparseAutoencoderImpl::normalizeDecoderRows() {
  torch::NoGradGuard no_grad;
  W_dec.div_(W_dec.norm(2, 1, /*keepdim=*/true));
}

SaeLosses prismaLosses(const SparseAutoencoderImpl& sae, const torch::Tensor& x, const SaeForward& f) {
  return prismaLosses(sae, x, f, x.detach().to(torch::kFloat32).mean(0, /*keepdim=*/true));
}

SaeLosses prismaLosses(const SparseAutoencoderImpl& sae, const torch::Tensor& x, const SaeForward& f,
                       const torch::Tensor& batch_mean) {
  SaeLosses l;
  const torch::Tensor target = x.detach().to(torch::kFloat32);
  const torch::Tensor centred = target - batch_mean.detach().to(torch::kFloat32);  // batch-centred
  const torch::Tensor norm = centred.norm(2, -1, /*keepdim=*/true);         // [rows, 1]
  l.mse = ((f.sae_out - target).pow(2) / norm).mean();
  l.sparsity = f.feature_acts.abs().sum(1).mean();
  if (sae.cfg().activation == Activation::TopK) l.l1 = torch::zeros({}, l.mse.options());
  else l.l1 = sae.cfg().l1_coefficient * l.sparsity;
  l.loss = l.mse + l.l1;
  return l;
}

}  // namespace prisma::sae
