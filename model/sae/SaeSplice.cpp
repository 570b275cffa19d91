// Splicing an SAE into a hook point; see SaeSplice.h for the method.

#include "model/sae/SaeSplice.h"

#include <torch/torch.h>

#include <stdexcept>

namespace prisma::sae {

torch::Tensor activationRows(const torch::Tensor& activation, int64_t d_in) {
  if (activation.dim() >= 1 && activation.size(-1) == d_in) return activation.reshape({-1, d_in});
  // Per-head hooks (hook_z, hook_q, ...) [batch, tokens, heads, d_head]: an SAE on all
  // heads together sees heads × d_head.
  if (activation.dim() >= 2 && activation.size(-1) * activation.size(-2) == d_in)
    return activation.reshape({-1, d_in});
  throw std::invalid_argument("the activation's trailing dimensions do not make the SAE's d_in " +
                              std::to_string(d_in));
}

SaeSplice::SaeSplice(const HookedViTImpl& model, SparseAutoencoder sae, SpliceOptions options)
    : sae_(std::move(sae)),
      options_(std::move(options)),
      hook_(options_.hook_name.empty() ? sae_->cfg().hook_name : options_.hook_name),
      first_patch_(model.cfg().n_prefix()),
      scope_(model) {
  if (!model.has_hook(hook_)) throw std::invalid_argument("the model has no hook point '" + hook_ + "'");
  const TokenSelection tokens = options_.tokens.value_or(sae_->cfg().tokens);
  if (tokens == TokenSelection::Cls && !model.cfg().cls_token)
    throw std::invalid_argument("the SAE reads the CLS token, which this model does not have");
  options_.tokens = tokens;
  scope_.add(hook_, [this](const torch::Tensor& x, const HookPointImpl&) { return replace(x); });
}

torch::Tensor SaeSplice::replace(const torch::Tensor& activation) const {
  const int64_t d_in = sae_->cfg().d_in;
  torch::Tensor part = activation;  // [batch, tokens, ...]
  const TokenSelection tokens = *options_.tokens;
  if (tokens != TokenSelection::All) {
    if (activation.dim() < 3) throw std::invalid_argument("hook '" + hook_ + "' has no token axis to select from");
    part = tokens == TokenSelection::Cls ? activation.narrow(1, 0, 1)
                                         : activation.narrow(1, first_patch_, activation.size(1) - first_patch_);
  }
  const torch::Tensor rows = activationRows(part, d_in);  // [rows, d_in]
  SaeForward f = sae_->run(rows);
  if (options_.observe) options_.observe(f);
  torch::Tensor out = f.sae_out;
  if (options_.edit_features) {
    torch::Tensor edited = f.feature_acts.clone();
    options_.edit_features(edited);
    out = sae_->decode(edited, f.stats);
  }
  if (options_.add_error) out = out + (rows - f.sae_out);
  out = out.to(activation.dtype()).reshape(part.sizes());
  if (tokens == TokenSelection::All) return out;
  torch::Tensor replaced = activation.clone();
  replaced.narrow(1, tokens == TokenSelection::Cls ? 0 : first_patch_, out.size(1)).copy_(out);
  return replaced;
}

}  // namespace prisma::sae
