// Running an SAE over images; see SaeRun.h.

#include "model/sae/SaeRun.h"

#include "model/sae/SaeSplice.h"

#include <torch/torch.h>

#include <stdexcept>

namespace prisma::sae {

SaeRunResult runSaeOnImages(HookedViTImpl& model, const SparseAutoencoder& sae, const torch::Tensor& pixels) {
  torch::NoGradGuard no_grad;
  const std::string& hook = sae->cfg().hook_name;
  if (!model.has_hook(hook)) throw std::invalid_argument("the model has no hook point '" + hook + "'");
  SaeRunResult r;
  auto run = model.run_with_cache(pixels, filters::exact({hook}));
  r.logits = run.output;
  r.activations = activationRows(run.cache[hook], sae->cfg().d_in);  // [batch · tokens, d_in]
  SaeForward f = sae->run(r.activations);
  r.sae_in = f.sae_in;
  r.hidden_pre = f.hidden_pre;
  r.feature_acts = f.feature_acts;
  r.sae_out = f.sae_out;
  SaeSplice splice(model, sae);
  r.logits_with_sae = model.forward(pixels);
  return r;
}

}  // namespace prisma::sae
