#include "model/sae/HookWidth.h"

#include "model/Error.h"
#include "model/vit/HookedViT.h"

#include <torch/torch.h>

namespace prisma::sae {

int64_t hookWidth(HookedViTImpl& model, const std::string& hook, const std::string& source) {
  if (!model.has_hook(hook)) throw Error(source, "hook", "the model has no hook point '" + hook + "'");
  torch::NoGradGuard no_grad;
  const ViTConfig& cfg = model.cfg();
  auto run = model.run_with_cache(torch::zeros({1, cfg.n_channels, cfg.image_size, cfg.image_size}),
                                  filters::exact({hook}));
  const torch::Tensor act = run.cache[hook];  // [1, tokens, d] or [1, tokens, heads, d_head]
  return act.dim() == 4 ? act.size(-1) * act.size(-2) : act.size(-1);
}

}  // namespace prisma::sae
