#pragma once
// Splicing an SAE into a HookedViT: while a SaeSplice lives, the activation at the SAE's
// hook point (or any other of the same width) is replaced by the SAE's reconstruction, so
// the rest of the model sees only what the SAE's features carry. This is how "loss
// recovered" is measured and how a single feature is ablated or scaled (ViT-Prisma's
// HookedSAEViT.add_sae; SAELens' use_error_term).
//
// With `add_error` the reconstruction error x − sae_out(x) is added back, so without an
// edit the model's output is unchanged and with one only the edit's effect remains. Hooks
// are added through a HookScope and removed when the splice ends, however it ends.

#include "model/sae/SparseAutoencoder.h"
#include "model/vit/HookedViT.h"

#include <functional>
#include <optional>
#include <string>

namespace prisma::sae {

// The rows of an activation [batch, tokens, d] (or [batch, tokens, heads, d_head] when
// heads × d_head = d_in) the SAE sees: [batch · tokens, d_in], batch-major, as ViT-Prisma's
// rows. Throws std::invalid_argument when no trailing dims make d_in.
torch::Tensor activationRows(const torch::Tensor& activation, int64_t d_in);

struct SpliceOptions {
  std::string hook_name;  // empty: the SAE's own hook
  bool add_error = false;
  // Which tokens are replaced; empty: the SAE's training tokens (its config).
  std::optional<TokenSelection> tokens;
  // Edits the feature activations [rows, d_sae] in place before decoding (ablate or
  // scale a feature); rows are batch-major over the replaced tokens.
  std::function<void(torch::Tensor&)> edit_features;
  // Receives every pass's stages (for callers that read what the SAE saw).
  std::function<void(const SaeForward&)> observe;
};

class SaeSplice {
public:
  // Throws std::invalid_argument when the model has no such hook point.
  SaeSplice(const HookedViTImpl& model, SparseAutoencoder sae, SpliceOptions options = {});
  SaeSplice(const SaeSplice&) = delete;
  SaeSplice& operator=(const SaeSplice&) = delete;

  const std::string& hookName() const { return hook_; }

private:
  torch::Tensor replace(const torch::Tensor& activation) const;

  SparseAutoencoder sae_;
  SpliceOptions options_;
  std::string hook_;
  int64_t first_patch_ = 1;
  HookScope scope_;
};

}  // namespace prisma::sae
