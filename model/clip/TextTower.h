#pragma once
// CLIP's text tower (open_clip's TextTransformer with its defaults): token embeddings plus
// learned positions, pre-LN transformer blocks under a causal mask, ln_final on every
// position, the position of the largest token id (the end-of-text token, CLIP's vocabulary
// puts it last) pooled, then `text_projection` [width, embed_dim] (x @ P). Blocks are
// HookedViT's TransformerBlock, so a block's hook points have the image tower's names
// (blocks.L.attn.hook_pattern, ...). The causal mask is applied as the first hook of each
// block's attn.hook_attn_scores (TransformerLens masks before that hook, so later hooks see
// the masked scores, as there).

#include "model/io/OpenClipConfig.h"
#include "model/vit/ActivationCache.h"
#include "model/vit/HookedViT.h"

#include <torch/nn/modules/container/modulelist.h>

#include <map>
#include <string>

namespace prisma::clip {

class TextTransformerImpl : public torch::nn::Module {
public:
  TextTransformerImpl(const io::OpenClipTextCfg& cfg, int embed_dim, Activation activation);

  // token ids [texts, context] int64 -> text features [texts, embed_dim] (not normalised).
  torch::Tensor forward(const torch::Tensor& tokens);

  struct CacheRun {
    torch::Tensor output;
    std::map<std::string, torch::Tensor> cache;
  };
  CacheRun run_with_cache(const torch::Tensor& tokens, const NameFilter& filter = filters::all());

  // Copies open_clip's tensors (names without a prefix: token_embedding.weight, ...) in;
  // every parameter must be there with its shape. Throws prisma::Error naming `source`.
  void load(io::WeightFile& weights);

  const io::OpenClipTextCfg& cfg() const { return cfg_; }
  const std::vector<std::string>& hook_names() const { return hook_order_; }

  torch::Tensor token_embedding;   // [vocab, width]
  torch::Tensor W_pos;             // [context, width]
  torch::Tensor text_projection;   // [width, embed_dim]
  torch::Tensor text_projection_b; // [embed_dim], only with proj_bias
  HookPoint hook_embed{nullptr};      // [texts, context, width]
  HookPoint hook_pos_embed{nullptr};  // [texts, context, width]
  HookPoint hook_full_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  LayerNorm ln_final{nullptr};
  HookPoint hook_ln_final{nullptr};      // [texts, context, width]
  HookPoint hook_text_embeds{nullptr};   // [texts, embed_dim]

private:
  io::OpenClipTextCfg cfg_;
  int embed_dim_;
  std::map<std::string, HookPoint> hooks_;
  std::vector<std::string> hook_order_;
};
TORCH_MODULE(TextTransformer);

}  // namespace prisma::clip
