#include "model/vit/ActivationCache.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"
#include "model/vit/HookedViT.h"

#include <torch/torch.h>

namespace prisma {

ActivationCache::ActivationCache(std::map<std::string, torch::Tensor> tensors,
                                 std::shared_ptr<const HookedViTImpl> model)
    : tensors_(std::move(tensors)), model_(std::move(model)) {}

const torch::Tensor& ActivationCache::operator[](const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw Error("activation cache", name, "not cached (widen the run's name filter)");
  return it->second;
}

std::vector<std::string> ActivationCache::keys() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

void ActivationCache::insert(const std::string& name, torch::Tensor tensor) {
  tensors_[name] = std::move(tensor);
}

const HookedViTImpl& ActivationCache::model() const {
  if (!model_) throw Error("activation cache", "", "has no model attached");
  return *model_;
}

int ActivationCache::resolve_layer(int layer) const {
  const int n = model().cfg().n_layers;
  if (layer < 0) layer = n;
  if (layer > n) throw Error("activation cache", "layer", "out of range");
  return layer;
}

ActivationCache::Stack ActivationCache::accumulated_resid(int layer, bool incl_mid,
                                                          bool apply_ln) const {
  layer = resolve_layer(layer);
  const auto& cfg = model().cfg();
  Stack s;
  std::vector<torch::Tensor> parts;
  for (int l = 0; l <= layer; ++l) {
    const std::string b = blockPrefix(l);
    if (l == cfg.n_layers) {
      parts.push_back((*this)[hookName(l - 1, "hook_resid_post")]);
      s.labels.push_back("final_post");
      break;
    }
    parts.push_back((*this)[b + "hook_resid_pre"]);
    s.labels.push_back(std::to_string(l) + "_pre");
    if (incl_mid && l < layer && !cfg.attn_only) {
      parts.push_back((*this)[b + "hook_resid_mid"]);
      s.labels.push_back(std::to_string(l) + "_mid");
    }
  }
  s.tensor = torch::stack(parts);  // [component, batch, pos, d_model]
  if (apply_ln) s.tensor = apply_ln_to_stack(s.tensor, layer);
  return s;
}

ActivationCache::Stack ActivationCache::decompose_resid(int layer, bool mlp_input, bool apply_ln,
                                                        bool incl_embeds) const {
  layer = resolve_layer(layer);
  const auto& m = model();
  const auto& cfg = m.cfg();
  if (cfg.legacy_post_ln)
    throw Error("activation cache", "decompose_resid",
                "a post-LN model's residual stream is not a sum of component outputs");
  Stack s;
  std::vector<torch::Tensor> parts;
  if (incl_embeds) {
    if (m.ln_pre) {
      parts.push_back((*this)["hook_ln_pre"]);
      s.labels.push_back("ln_pre");
    } else {
      torch::Tensor patches = (*this)["hook_embed"];  // [batch, patches, d_model]
      torch::Tensor tokens = patches;
      if (m.cls_token.defined()) {
        torch::Tensor cls = m.cls_token.detach().expand({patches.size(0), 1, cfg.d_model});
        tokens = torch::cat({cls, patches}, 1);
      }
      parts.push_back(tokens);
      s.labels.push_back("embed");
      parts.push_back((*this)["hook_pos_embed"]);
      s.labels.push_back("pos_embed");
    }
  }
  for (int l = 0; l < layer + (mlp_input ? 1 : 0) && l < cfg.n_layers; ++l) {
    const std::string b = blockPrefix(l);
    parts.push_back((*this)[b + "hook_attn_out"]);
    s.labels.push_back(std::to_string(l) + "_attn_out");
    if (l == layer || cfg.attn_only) continue;  // mlp_input stops between attn and MLP
    parts.push_back((*this)[b + "hook_mlp_out"]);
    s.labels.push_back(std::to_string(l) + "_mlp_out");
  }
  s.tensor = torch::stack(parts);
  if (apply_ln) s.tensor = apply_ln_to_stack(s.tensor, layer, mlp_input);
  return s;
}

ActivationCache::Stack ActivationCache::stack_head_results(int layer, bool apply_ln) const {
  layer = resolve_layer(layer);
  const auto& m = model();
  const int H = m.cfg().n_heads;
  Stack s;
  std::vector<torch::Tensor> parts;
  for (int l = 0; l < layer; ++l) {
    const std::string b = hookName(l, "attn.");
    torch::Tensor result;  // [batch, pos, head, d_model]
    if (contains(b + "hook_result")) result = (*this)[b + "hook_result"];
    else result = torch::einsum("bthk,hkd->bthd", {(*this)[b + "hook_z"], m.block(l).attn->W_O.detach()});
    parts.push_back(result.permute({2, 0, 1, 3}));  // [head, batch, pos, d_model]
    for (int h = 0; h < H; ++h) s.labels.push_back("L" + std::to_string(l) + "H" + std::to_string(h));
  }
  if (parts.empty()) throw Error("activation cache", "layer", "no heads below layer 0");
  s.tensor = torch::cat(parts, 0);
  if (apply_ln) s.tensor = apply_ln_to_stack(s.tensor, layer);
  return s;
}

torch::Tensor ActivationCache::apply_ln_to_stack(const torch::Tensor& stack, int layer,
                                                 bool mlp_input) const {
  layer = resolve_layer(layer);
  const auto& m = model();
  const auto& cfg = m.cfg();
  if (!cfg.has_ln()) return stack;
  const LayerNormImpl* ln = nullptr;
  std::string scale_name;
  if (layer == cfg.n_layers) {
    ln = m.ln_final.get();
    scale_name = "ln_final.hook_scale";
  } else {
    auto& blk = m.block(layer);
    ln = mlp_input ? blk.ln2.get() : blk.ln1.get();
    scale_name = hookName(layer, mlp_input ? "ln2.hook_scale" : "ln1.hook_scale");
  }
  const torch::Tensor& scale = (*this)[scale_name];  // [batch, pos, 1] or [batch, 1]
  if (stack.dim() != scale.dim() + 1)
    throw Error("activation cache", scale_name,
                "stack and cached scale disagree in shape (pool the stack first?)");
  torch::Tensor out = (stack - stack.mean(-1, /*keepdim=*/true)) / scale;
  if (ln && ln->has_weights()) out = out * ln->w.detach();
  return out;
}

torch::Tensor ActivationCache::pool_stack(const torch::Tensor& stack) const {
  return model().cfg().pooling == Pooling::Cls ? stack.select(2, 0) : stack.mean(2);
}

torch::Tensor ActivationCache::direction(int class_a, std::optional<int> class_b) const {
  const auto& m = model();
  if (!m.head) throw Error("activation cache", "head", "the model has no classification head");
  const int C = m.cfg().n_classes;
  auto check = [C](int c) {
    if (c < 0 || c >= C) throw Error("activation cache", "class", std::to_string(c) + " out of range");
  };
  check(class_a);
  torch::Tensor W = m.head->W_H.detach();  // [d_model, classes]
  torch::Tensor dir = W.select(1, class_a);
  if (class_b) {
    check(*class_b);
    dir = dir - W.select(1, *class_b);
  }
  return dir;
}

torch::Tensor ActivationCache::logit_attrs(const torch::Tensor& stack, int class_a,
                                           std::optional<int> class_b) const {
  const auto& cfg = model().cfg();
  torch::Tensor pooled;  // [component, batch, d_model]
  if (cfg.final_ln_after_pool) pooled = apply_ln_to_stack(pool_stack(stack));
  else pooled = pool_stack(apply_ln_to_stack(stack));
  return torch::matmul(pooled, direction(class_a, class_b));  // [component, batch]
}

torch::Tensor ActivationCache::logit_attr_constant(int class_a, std::optional<int> class_b) const {
  const auto& m = model();
  torch::Tensor dir = direction(class_a, class_b);
  torch::Tensor bias = m.head->b_H.detach();
  torch::Tensor c = bias[class_a] - (class_b ? bias[*class_b] : torch::zeros({}));
  if (m.ln_final && m.ln_final->has_weights()) c = c + torch::dot(m.ln_final->b.detach(), dir);
  // One value per batch item, for symmetry with logit_attrs.
  const torch::Tensor& any = tensors_.begin()->second;
  return c.expand({any.size(0)}).clone();
}

}  // namespace prisma
