#pragma once
// One SAE over a batch of images, every stage kept: the hook's activations of every token
// as rows (what ViT-Prisma's trainer feeds its SAE), what the SAE makes of them, and the
// model's logits clean and with the SAE spliced into its hook. `prisma sae encode` writes
// exactly this, and the reference test compares it with ViT-Prisma's numbers.

#include "model/sae/SparseAutoencoder.h"
#include "model/vit/HookedViT.h"

namespace prisma::sae {

struct SaeRunResult {
  torch::Tensor activations;      // [batch · tokens, d_in], batch-major
  torch::Tensor sae_in;           // [batch · tokens, d_in]
  torch::Tensor hidden_pre;       // [batch · tokens, d_sae]
  torch::Tensor feature_acts;     // [batch · tokens, d_sae]
  torch::Tensor sae_out;          // [batch · tokens, d_in]
  torch::Tensor logits;           // [batch, classes]
  torch::Tensor logits_with_sae;  // [batch, classes], the SAE's reconstruction at its hook
};

// pixels [batch, C, H, W]. Runs without gradients. Throws std::invalid_argument when the
// model lacks the SAE's hook or its width is not the SAE's d_in.
SaeRunResult runSaeOnImages(HookedViTImpl& model, const SparseAutoencoder& sae, const torch::Tensor& pixels);

}  // namespace prisma::sae
