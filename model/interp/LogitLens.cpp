#include "model/interp/LogitLens.h"

#include "model/Error.h"

#include <torch/torch.h>

namespace prisma::interp {

LogitLensResult logitLens(const HookedViTImpl& model, const ActivationCache& cache) {
  const ViTConfig& cfg = model.cfg();
  if (!model.head) throw Error("logit lens", "head", "the model has no classification head");
  torch::NoGradGuard no_grad;
  const bool per_token_scale = cfg.has_ln() && !cfg.final_ln_after_pool;
  auto stack = cache.accumulated_resid(-1, /*incl_mid=*/false, /*apply_ln=*/per_token_scale);
  torch::Tensor normed = stack.tensor;  // [layer + 1, batch, pos, d_model]
  if (per_token_scale) {
    // apply_ln_to_stack centred, divided by the cached scale and applied w; the bias is
    // a constant, not part of any component, but the lens shows real logits.
    if (model.ln_final->has_weights()) normed = normed + model.ln_final->b.detach();
  } else if (cfg.has_ln()) {
    // The final LayerNorm's own formula, each token on its own (LayerNorm.h).
    normed = normed - normed.mean(-1, /*keepdim=*/true);
    normed = normed / (normed.pow(2).mean(-1, /*keepdim=*/true) + cfg.eps).sqrt();
    if (model.ln_final->has_weights()) normed = normed * model.ln_final->w.detach() + model.ln_final->b.detach();
  }
  LogitLensResult r;
  r.logits = torch::matmul(normed, model.head->W_H.detach()) + model.head->b_H.detach();
  auto [top, idx] = r.logits.max(-1);
  r.top_logit = top;
  r.top_class = idx;
  r.labels = stack.labels;
  return r;
}

}  // namespace prisma::interp
