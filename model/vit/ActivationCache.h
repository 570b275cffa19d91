#pragma once
// ActivationCache: the activations of one run by hook name, plus the residual-stream
// algebra TransformerLens builds on them. The residual stream is a sum of the outputs of
// every component (embeddings, each attention layer or head, each MLP); stacking those
// outputs and pushing each through the final LayerNorm -- using the scale the real run
// cached, which makes the map linear -- and the unembedding W_H says how much each
// component moved each logit (direct logit attribution, the logit lens).

#include <torch/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace prisma {

class HookedViTImpl;

class ActivationCache {
public:
  // A stack of residual-stream components and their names.
  struct Stack {
    torch::Tensor tensor;             // [component, batch, pos, d_model]
    std::vector<std::string> labels;  // one per component
  };

  ActivationCache() = default;
  ActivationCache(std::map<std::string, torch::Tensor> tensors,
                  std::shared_ptr<const HookedViTImpl> model);

  const torch::Tensor& operator[](const std::string& name) const;  // throws when absent
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  size_t size() const { return tensors_.size(); }
  std::vector<std::string> keys() const;
  const std::map<std::string, torch::Tensor>& tensors() const { return tensors_; }
  void insert(const std::string& name, torch::Tensor tensor);

  // resid_pre of layers 0..layer (and resid_mid with incl_mid); layer = n_layers (or -1)
  // ends with the final resid_post, labelled "final_post". TransformerLens' semantics.
  Stack accumulated_resid(int layer = -1, bool incl_mid = false, bool apply_ln = false) const;

  // The residual stream at resid_pre of `layer` (resid_mid with mlp_input) as the sum of
  // its parts: "embed" (CLS + patches) and "pos_embed" (or "ln_pre" for CLIP), then
  // "L_attn_out" and "L_mlp_out" per earlier layer. Pre-LN models only.
  Stack decompose_resid(int layer = -1, bool mlp_input = false, bool apply_ln = false,
                        bool incl_embeds = true) const;

  // Each head's output W_O·z for layers below `layer`: [layer·head, batch, pos, d_model],
  // labels "L0H0", ... Uses hook_result when cached, else hook_z and W_O.
  Stack stack_head_results(int layer = -1, bool apply_ln = false) const;

  // Pushes a stack through a LayerNorm linearly: centre, divide by the scale cached for
  // that LayerNorm in this run, multiply by its weight when it has one (its bias is a
  // constant, no component's doing). layer = -1 / n_layers is the final LayerNorm, else
  // ln1 (ln2 with mlp_input) of `layer`. A stack after pooling is [component, batch, D].
  torch::Tensor apply_ln_to_stack(const torch::Tensor& stack, int layer = -1,
                                  bool mlp_input = false) const;

  // Pools a [component, batch, pos, d_model] stack as the model pools its tokens.
  torch::Tensor pool_stack(const torch::Tensor& stack) const;

  // Direct logit attribution: each component's contribution to logit[class_a], or to
  // logit[class_a] - logit[class_b], through the final LayerNorm (cached scale), pooling
  // and W_H. [component, batch]. The components of decompose_resid(n_layers) sum to the
  // logit (difference) minus logit_attr_constant().
  torch::Tensor logit_attrs(const torch::Tensor& stack, int class_a,
                            std::optional<int> class_b = std::nullopt) const;
  // What no component contributes: the final LayerNorm's bias and the head's bias along
  // the same direction. [batch]
  torch::Tensor logit_attr_constant(int class_a, std::optional<int> class_b = std::nullopt) const;

private:
  const HookedViTImpl& model() const;
  int resolve_layer(int layer) const;
  torch::Tensor direction(int class_a, std::optional<int> class_b) const;  // [d_model]

  std::map<std::string, torch::Tensor> tensors_;
  std::shared_ptr<const HookedViTImpl> model_;
};

}  // namespace prisma
