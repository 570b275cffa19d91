#include "model/vit/TransformerBlock.h"

#include <torch/torch.h>

namespace prisma {

TransformerBlockImpl::TransformerBlockImpl(const ViTConfig& cfg) : post_ln_(cfg.legacy_post_ln) {
  const bool ln = cfg.has_ln(), weights = cfg.has_ln_weights();
  hook_resid_pre = register_module("hook_resid_pre", HookPoint());
  if (ln) ln1 = register_module("ln1", LayerNorm(cfg.d_model, cfg.eps, weights));
  attn = register_module("attn", Attention(cfg));
  hook_attn_out = register_module("hook_attn_out", HookPoint());
  if (!cfg.attn_only) {
    hook_resid_mid = register_module("hook_resid_mid", HookPoint());
    if (ln) ln2 = register_module("ln2", LayerNorm(cfg.d_model, cfg.eps, weights));
    mlp = register_module("mlp", Mlp(cfg));
    hook_mlp_out = register_module("hook_mlp_out", HookPoint());
  }
  hook_resid_post = register_module("hook_resid_post", HookPoint());
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& input) {
  torch::Tensor resid_pre = hook_resid_pre(input);
  if (post_ln_) {
    torch::Tensor attn_out = hook_attn_out(attn(resid_pre));
    torch::Tensor mid = resid_pre + attn_out;
    if (ln1) mid = ln1(mid);
    if (!mlp) return hook_resid_post(mid);
    torch::Tensor resid_mid = hook_resid_mid(mid);
    torch::Tensor mlp_out = hook_mlp_out(mlp(resid_mid));
    torch::Tensor post = resid_mid + mlp_out;
    if (ln2) post = ln2(post);
    return hook_resid_post(post);
  }
  torch::Tensor attn_out = hook_attn_out(attn(ln1 ? ln1(resid_pre) : resid_pre));
  if (!mlp) return hook_resid_post(resid_pre + attn_out);
  torch::Tensor resid_mid = hook_resid_mid(resid_pre + attn_out);
  torch::Tensor mlp_out = hook_mlp_out(mlp(ln2 ? ln2(resid_mid) : resid_mid));
  return hook_resid_post(resid_mid + mlp_out);
}

}  // namespace prisma
