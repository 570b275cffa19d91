#include "model/interp/DirectLogitAttribution.h"

#include "model/Error.h"

#include <torch/torch.h>

namespace prisma::interp {

DirectLogitAttributionResult directLogitAttribution(const ActivationCache& cache, const HookedViTImpl& model,
                                                    int class_a, std::optional<int> class_b) {
  const ViTConfig& cfg = model.cfg();
  if (cfg.legacy_post_ln)
    throw Error("direct logit attribution", "model", "a post-LN model's residual stream is not a sum of components");
  if (cfg.normalize_output || cfg.return_type != ReturnType::Logits)
    throw Error("direct logit attribution", "model", "needs a model that returns raw logits");
  torch::NoGradGuard no_grad;
  const int L = cfg.n_layers, H = cfg.n_heads;

  DirectLogitAttributionResult r;
  auto parts = cache.decompose_resid();
  r.components = cache.logit_attrs(parts.tensor, class_a, class_b).t().contiguous();  // [batch, component]
  r.labels = parts.labels;

  auto heads = cache.stack_head_results();                                     // [L·H, batch, pos, D]
  const torch::Tensor per_head = cache.logit_attrs(heads.tensor, class_a, class_b);  // [L·H, batch]
  const int64_t B = per_head.size(1);
  r.heads = per_head.view({L, H, B}).permute({2, 0, 1}).contiguous();          // [batch, layer, head]

  // b_O broadcast to every token of every image, pushed through the same map.
  const torch::Tensor& resid = cache["blocks.0.hook_resid_pre"];  // [batch, pos, D]
  std::vector<torch::Tensor> biases;
  for (int l = 0; l < L; ++l) biases.push_back(model.block(l).attn->b_O.detach().expand(resid.sizes()));
  r.attn_bias = cache.logit_attrs(torch::stack(biases), class_a, class_b).t().contiguous();  // [batch, layer]

  r.constant = cache.logit_attr_constant(class_a, class_b);
  const torch::Tensor& logits = cache["hook_post_head_pre_normalize"];  // [batch, classes]
  r.logit_diff = logits.select(1, class_a) - (class_b ? logits.select(1, *class_b) : torch::zeros({B}));
  return r;
}

}  // namespace prisma::interp
