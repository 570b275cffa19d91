#pragma once
// Sparse autoencoders (SAEs) on a ViT's activations, as ViT-Prisma trains and ships them
// (vit_prisma/sae/sae.py, after Anthropic's "Towards Monosemanticity" and SAELens).
//
// An SAE rewrites an activation x [rows, d_in] as a sparse, non-negative combination of
// d_sae learned directions (d_sae >> d_in, so each feature can stand for one concept):
//   x̂      = normalise(x)                     (per the config; see Normalization)
//   sae_in = x̂ − b_dec                         (the decoder bias is the data's "origin")
//   f      = act(sae_in · W_enc + b_enc)       ReLU, or TopK: keep the k largest, ReLU them
//   sae_out = unnormalise(f · W_dec + b_dec)
// W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in]. Training
// minimises a reconstruction error plus an L1 penalty on f (none for TopK, whose k sets
// the sparsity). The normalisation statistics are per row, so decode() of features alone
// stays in the normalised space; run() keeps them to undo it.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace prisma::sae {

enum class Activation { Relu, TopK };
// How rows are normalised before encoding (ViT-Prisma's `normalize_activations`):
// LayerNorm: (x − mean) / (std + 1e-5), std unbiased, no affine; the output is multiplied
// by std and the mean added back (without the 1e-5). ConstantNormRescale: x · √d_in / ‖x‖,
// the output divided by the same factor.
enum class Normalization { None, LayerNorm, ConstantNormRescale };
// Which tokens of a [batch, tokens, d] activation the SAE was trained on and replaces.
enum class TokenSelection { All, Cls, Patches };

struct SaeConfig {
  int64_t d_in = 0;
  int64_t d_sae = 0;
  Activation activation = Activation::Relu;
  int64_t k = 0;  // TopK only
  Normalization normalization = Normalization::None;
  // ViT-Prisma subtracts b_dec from the (normalised) input; SAELens only with
  // apply_b_dec_to_input.
  bool subtract_b_dec = true;
  double l1_coefficient = 0.0;
  std::string hook_name;   // e.g. "blocks.1.hook_resid_post"
  std::string model_name;  // what the SAE was trained on, as its file says
  TokenSelection tokens = TokenSelection::All;
};

std::string activationName(Activation a);       // "relu", "topk"
std::string normalizationName(Normalization n);  // "none", "layer_norm", "constant_norm_rescale"
std::string tokenSelectionName(TokenSelection t);  // "all", "cls", "patches"
// Throws std::invalid_argument on an unknown name (callers add the file and field).
Activation activationFromName(const std::string& name);
Normalization normalizationFromName(const std::string& name);
TokenSelection tokenSelectionFromName(const std::string& name);

// Per-row statistics that undo the input normalisation.
struct RowStats {
  torch::Tensor mean;   // [rows, 1] (LayerNorm)
  torch::Tensor scale;  // [rows, 1]: std (LayerNorm) or 1 / rescale factor (ConstantNormRescale)
};

// Everything one pass computes, as ViT-Prisma's hooks name it.
struct SaeForward {
  torch::Tensor sae_in;        // [rows, d_in]: normalised input − b_dec (hook_sae_in)
  torch::Tensor hidden_pre;    // [rows, d_sae]
  torch::Tensor feature_acts;  // [rows, d_sae]
  torch::Tensor sae_out;       // [rows, d_in], in the input's space
  RowStats stats;
};

class SparseAutoencoderImpl : public torch::nn::Module {
public:
  explicit SparseAutoencoderImpl(SaeConfig cfg);

  const SaeConfig& cfg() const { return cfg_; }

  // x [rows, d_in] -> every stage. Rows are independent.
  SaeForward run(const torch::Tensor& x) const;
  // x [rows, d_in] -> feature activations [rows, d_sae].
  torch::Tensor encode(const torch::Tensor& x) const;
  // features [rows, d_sae] -> f · W_dec + b_dec, in the normalised space when the SAE
  // normalises (pass `stats` from run() to return to the input's space).
  torch::Tensor decode(const torch::Tensor& features, const RowStats& stats = {}) const;
  // x [rows, d_in] -> sae_out [rows, d_in].
  torch::Tensor reconstruct(const torch::Tensor& x) const { return run(x).sae_out; }

  // Normalisation only, and its inverse.
  torch::Tensor normalize(const torch::Tensor& x, RowStats& stats) const;
  torch::Tensor unnormalize(const torch::Tensor& y, const RowStats& stats) const;
  // The activation function on pre-activations [rows, d_sae].
  torch::Tensor activate(const torch::Tensor& hidden_pre) const;

  // Rescales each decoder row to unit L2 norm (ViT-Prisma does so after every step).
  void normalizeDecoderRows();

  torch::Tensor W_enc;  // [d_in, d_sae]
  torch::Tensor b_enc;  // [d_sae]
  torch::Tensor W_dec;  // [d_sae, d_in]
  torch::Tensor b_dec;  // [d_in]

private:
  SaeConfig cfg_;
};
TORCH_MODULE(SparseAutoencoder);

// ViT-Prisma's loss terms for one batch (sae.py, standard architecture, no ghost grads).
struct SaeLosses {
  // mean over rows and d_in of (sae_out − x)² / ‖x_r − mean_rows(x)‖₂: each row's error is
  // divided by the L2 norm of that row after centring by the BATCH mean, so the value
  // depends on which rows share the batch (ViT-Prisma's definition, matched exactly).
  torch::Tensor mse;
  torch::Tensor sparsity;  // mean over rows of ‖feature_acts‖₁
  torch::Tensor l1;        // l1_coefficient · sparsity (0 for TopK)
  torch::Tensor loss;      // mse + l1
};
SaeLosses prismaLosses(const SparseAutoencoderImpl& sae, const torch::Tensor& x, const SaeForward& f);
// The same terms for rows `x` that are a slice of a larger batch whose row mean is
// `batch_mean` [1, d_in] (data-parallel training: each rank holds a slice, the MSE's
// normaliser still centres on the whole batch). Means are over the slice's rows.
SaeLosses prismaLosses(const SparseAutoencoderImpl& sae, const torch::Tensor& x, const SaeForward& f,
                       const torch::Tensor& batch_mean);

}  // namespace prisma::sae
