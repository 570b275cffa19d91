#pragma once
// HookedViT: a Vision Transformer whose every intermediate activation is a named hook
// point (ViT-Prisma's HookedViT, after TransformerLens' HookedTransformer). It can run
// from pixels or from any layer's residual stream (start_at_layer), stop early
// (stop_at_layer), cache activations and their gradients, and run with temporary hooks.

#include "model/vit/ActivationCache.h"
#include "model/vit/AttentionPool.h"
#include "model/vit/Embedding.h"
#include "model/vit/TransformerBlock.h"

#include <torch/nn/modules/container/modulelist.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace prisma {

// Decides which hook points a run caches or hooks.
using NameFilter = std::function<bool(const std::string&)>;

namespace filters {
NameFilter all();
NameFilter exact(std::vector<std::string> names);
// Matches names any of the ECMAScript regular expressions find (std::regex_search).
// Throws std::invalid_argument naming a pattern that does not compile.
NameFilter regex(const std::vector<std::string>& patterns);
}  // namespace filters

struct RunOptions {
  // Run blocks [start_at_layer, n_layers): the input is then the residual stream
  // blocks.{start}.hook_resid_pre [batch, pos, d_model] instead of pixels.
  std::optional<int> start_at_layer;
  // Stop before block `stop_at_layer` and return its resid_pre (no head).
  std::optional<int> stop_at_layer;
};

struct Hook {
  std::string name;
  HookFn fn;
  HookDirection direction = HookDirection::Forward;
};

class HeadImpl : public torch::nn::Module {
public:
  HeadImpl(int d_model, int n_classes);
  torch::Tensor forward(const torch::Tensor& x);  // [batch, d_model] -> [batch, classes]
  torch::Tensor W_H;  // [d_model, classes]
  torch::Tensor b_H;  // [classes]
};
TORCH_MODULE(Head);

class HookedViTImpl : public torch::nn::Module {
public:
  explicit HookedViTImpl(ViTConfig cfg);

  // pixels [batch, C, H, W] (or a residual with start_at_layer) -> logits [batch, classes],
  // pre-logits [batch, d_model], or the residual stream with stop_at_layer.
  torch::Tensor forward(const torch::Tensor& input, const RunOptions& options = {});

  struct CacheRun {
    torch::Tensor output;
    ActivationCache cache;
  };
  // Runs once, keeping (detached) every activation whose hook name passes `filter`.
  CacheRun run_with_cache(const torch::Tensor& input, const NameFilter& filter = filters::all(),
                          const RunOptions& options = {});

  // Runs once with temporary hooks, removed afterwards even when the run throws.
  torch::Tensor run_with_hooks(const torch::Tensor& input, const std::vector<Hook>& hooks,
                               const RunOptions& options = {});

  struct GradRun {
    torch::Tensor output;
    torch::Tensor metric;   // the scalar that was differentiated
    ActivationCache cache;  // activations
    ActivationCache grads;  // d metric / d activation, same keys
  };
  // Caches activations and the gradient of the scalar `metric(output)` with respect to
  // each of them (one forward, one backward; parameter gradients are left untouched).
  GradRun run_with_cache_and_grads(const torch::Tensor& input,
                                   const std::function<torch::Tensor(const torch::Tensor&)>& metric,
                                   const NameFilter& filter = filters::all(),
                                   const RunOptions& options = {});

  const ViTConfig& cfg() const { return cfg_; }

  // Every hook point, in the order a forward pass reaches them.
  const std::vector<std::string>& hook_names() const { return hook_order_; }
  bool has_hook(const std::string& name) const { return hooks_.count(name) != 0; }
  HookPoint hook_point(const std::string& name) const;  // throws on unknown names
  void reset_hooks();  // removes every hook, permanent ones included

  // Fills the parameters the way a freshly initialised ViT-Prisma model is: normal
  // weights (std 0.02), zero biases, unit LayerNorm weights. Deterministic in `seed`.
  void init_weights(uint64_t seed);

  int64_t parameter_count() const;

  // Replaces the classification head by a zero one for `n_classes` classes (initialise it
  // yourself), e.g. to fine-tune on another dataset. The model then returns logits; its
  // class names become `class_names` (empty, or n_classes entries).
  void replace_head(int n_classes, std::vector<std::string> class_names = {});

  torch::Tensor cls_token;  // [1, 1, d_model]; undefined without a CLS token
  torch::Tensor reg_tokens;  // [1, registers, d_model]; undefined without registers
  PatchEmbed embed{nullptr};
  HookPoint hook_embed{nullptr};     // [batch, patches, d_model]
  PosEmbed pos_embed{nullptr};
  HookPoint hook_pos_embed{nullptr};   // [batch, tokens, d_model]
  HookPoint hook_full_embed{nullptr};  // [batch, tokens, d_model]
  LayerNorm ln_pre{nullptr};
  HookPoint hook_ln_pre{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  LayerNorm ln_final{nullptr};
  HookPoint hook_ln_final{nullptr};  // [batch, tokens, d_model], or [batch, d_model] after pooling
  AttentionPool attn_pool{nullptr};  // with Pooling::Map
  Head head{nullptr};
  HookPoint hook_post_head_pre_normalize{nullptr};  // [batch, classes]

  TransformerBlockImpl& block(int layer) const;

private:
  torch::Tensor embed_pixels(const torch::Tensor& pixels);
  torch::Tensor finish(torch::Tensor resid);  // final LayerNorm, pooling, head

  ViTConfig cfg_;
  std::map<std::string, HookPoint> hooks_;
  std::vector<std::string> hook_order_;
};
TORCH_MODULE(HookedViT);

// Hooks added through a scope are removed when it ends, however it ends.
class HookScope {
public:
  explicit HookScope(const HookedViTImpl& model) : model_(model) {}
  ~HookScope();
  HookScope(const HookScope&) = delete;
  HookScope& operator=(const HookScope&) = delete;

  HookScope& add(const std::string& name, HookFn fn,
                 HookDirection direction = HookDirection::Forward);
  // Adds `fn` to every hook point whose name passes `filter`.
  HookScope& add(const NameFilter& filter, const HookFn& fn,
                 HookDirection direction = HookDirection::Forward);

private:
  const HookedViTImpl& model_;
  std::vector<std::pair<HookPoint, int>> added_;
};

}  // namespace prisma
