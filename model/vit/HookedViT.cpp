#include "model/vit/HookedViT.h"
#include "model/vit/HookNames.h"
#include "model/vit/PosInterpolation.h"

#include "model/Error.h"

#include <torch/torch.h>

#include <regex>
#include <set>

namespace prisma {

namespace {
constexpr double kInitStd = 0.02;  // ViT-Prisma / timm's trunc-normal std for weights
}

namespace filters {

NameFilter all() {
  return [](const std::string&) { return true; };
}

NameFilter exact(std::vector<std::string> names) {
  std::set<std::string> set(names.begin(), names.end());
  return [set = std::move(set)](const std::string& name) { return set.count(name) != 0; };
}

NameFilter regex(const std::vector<std::string>& patterns) {
  std::vector<std::regex> compiled;
  for (const auto& p : patterns) {
    try {
      compiled.emplace_back(p, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw std::invalid_argument("bad hook-name pattern '" + p + "': " + e.what());
    }
  }
  return [compiled = std::move(compiled)](const std::string& name) {
    for (const auto& r : compiled)
      if (std::regex_search(name, r)) return true;
    return false;
  };
}

}  // namespace filters

HeadImpl::HeadImpl(int d_model, int n_classes) {
  W_H = register_parameter("W_H", torch::zeros({d_model, n_classes}));
  b_H = register_parameter("b_H", torch::zeros({n_classes}));
}

torch::Tensor HeadImpl::forward(const torch::Tensor& x) { return torch::addmm(b_H, x, W_H); }

HookedViTImpl::HookedViTImpl(ViTConfig cfg) : cfg_(std::move(cfg)) {
  cfg_.validate();
  const bool ln = cfg_.has_ln(), weights = cfg_.has_ln_weights();
  if (cfg_.cls_token) cls_token = register_parameter("cls_token", torch::zeros({1, 1, cfg_.d_model}));
  if (cfg_.n_registers > 0) reg_tokens = register_parameter("reg_tokens", torch::zeros({1, cfg_.n_registers, cfg_.d_model}));
  embed = register_module("embed", PatchEmbed(cfg_));
  hook_embed = register_module("hook_embed", HookPoint());
  pos_embed = register_module("pos_embed", PosEmbed(cfg_));
  hook_pos_embed = register_module("hook_pos_embed", HookPoint());
  hook_full_embed = register_module("hook_full_embed", HookPoint());
  if (cfg_.ln_pre && ln) {
    ln_pre = register_module("ln_pre", LayerNorm(cfg_.d_model, cfg_.eps, weights));
    hook_ln_pre = register_module("hook_ln_pre", HookPoint());
  }
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int l = 0; l < cfg_.n_layers; ++l) blocks->push_back(TransformerBlock(cfg_));
  if (ln) {
    ln_final = register_module("ln_final", LayerNorm(cfg_.d_model, cfg_.eps, weights));
    hook_ln_final = register_module("hook_ln_final", HookPoint());
  }
  if (cfg_.pooling == Pooling::Map) attn_pool = register_module("attn_pool", AttentionPool(cfg_));
  if (cfg_.n_classes > 0) {
    head = register_module("head", Head(cfg_.d_model, cfg_.n_classes));
    hook_post_head_pre_normalize = register_module("hook_post_head_pre_normalize", HookPoint());
  }

  // A hook point's name is its path in the module tree: the same names as ViT-Prisma.
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    auto hp = std::dynamic_pointer_cast<HookPointImpl>(item.value());
    if (!hp) continue;
    hp->set_hook_name(item.key());
    hooks_.emplace(item.key(), HookPoint(hp));
  }
  // Registration order is forward order everywhere except the root's final hooks,
  // which are registered after the blocks: walk the forward order explicitly.
  auto push = [this](const std::string& n) {
    if (hooks_.count(n)) hook_order_.push_back(n);
  };
  for (const char* n : {"hook_embed", "hook_pos_embed", "hook_full_embed", "ln_pre.hook_scale",
                        "ln_pre.hook_normalized", "hook_ln_pre"})
    push(n);
  const std::vector<std::string> per_block = {
      "hook_resid_pre",      "ln1.hook_scale",       "ln1.hook_normalized", "attn.hook_q",
      "attn.hook_k",         "attn.hook_v",          "attn.hook_attn_scores", "attn.hook_pattern",
      "attn.hook_z",         "attn.hook_result",     "hook_attn_out",       "hook_resid_mid",
      "ln2.hook_scale",      "ln2.hook_normalized",  "mlp.hook_pre",        "mlp.hook_post",
      "mlp.ln.hook_scale",   "mlp.ln.hook_normalized", "hook_mlp_out",      "hook_resid_post"};
  for (int l = 0; l < cfg_.n_layers; ++l)
    for (const auto& n : per_block) push(blockPrefix(l) + n);
  for (const char* n : {"ln_final.hook_scale", "ln_final.hook_normalized", "hook_ln_final"}) push(n);
  for (const char* n : {"attn_pool.hook_pattern", "attn_pool.hook_z", "attn_pool.ln.hook_scale",
                        "attn_pool.ln.hook_normalized", "attn_pool.mlp.hook_pre", "attn_pool.mlp.hook_post",
                        "attn_pool.hook_out"})
    push(n);
  push("hook_post_head_pre_normalize");
  TORCH_CHECK(hook_order_.size() == hooks_.size(), "HookedViT: a hook point is missing from the forward order");
}

TransformerBlockImpl& HookedViTImpl::block(int layer) const {
  return *blocks->ptr<TransformerBlockImpl>(layer);
}

torch::Tensor HookedViTImpl::embed_pixels(const torch::Tensor& pixels) {
  torch::Tensor patches = hook_embed(embed(pixels));  // [B, patches, D]
  const int64_t B = patches.size(0);
  torch::Tensor tokens = patches;
  std::vector<torch::Tensor> parts;  // [CLS, registers, patches]
  if (cls_token.defined()) parts.push_back(cls_token.expand({B, 1, cfg_.d_model}));
  if (reg_tokens.defined()) parts.push_back(reg_tokens.expand({B, cfg_.n_registers, cfg_.d_model}));
  if (!parts.empty()) {
    parts.push_back(patches);
    tokens = torch::cat(parts, 1);
  }
  const int64_t rows = pixels.size(2) / cfg_.patch_size, cols = pixels.size(3) / cfg_.patch_size;
  torch::Tensor pos;
  if (rows == cfg_.grid_size() && cols == cfg_.grid_size()) {
    pos = pos_embed(B);
  } else {  // another input size: the patch rows of W_pos resized as the source library does
    const torch::Tensor table = interpolatePositions(pos_embed->W_pos, cfg_.n_prefix(), cfg_.grid_size(),
                                                     static_cast<int>(rows), static_cast<int>(cols), cfg_.pos_interpolation);
    pos = table.unsqueeze(0).expand({B, table.size(0), table.size(1)});
  }
  pos = hook_pos_embed(pos);
  torch::Tensor resid = hook_full_embed(tokens + pos);
  if (ln_pre) resid = hook_ln_pre(ln_pre(resid));
  return resid;
}

torch::Tensor HookedViTImpl::finish(torch::Tensor resid) {
  const bool after_pool = cfg_.final_ln_after_pool;
  if (ln_final && !after_pool) resid = hook_ln_final(ln_final(resid));
  torch::Tensor pooled = cfg_.pooling == Pooling::Map ? attn_pool(resid)
                         : cfg_.pooling == Pooling::Cls ? resid.select(1, 0)
                                                        : resid.mean(1);  // [B, D]
  if (ln_final && after_pool) pooled = hook_ln_final(ln_final(pooled));
  torch::Tensor out = pooled;
  if (cfg_.return_type == ReturnType::Logits) {
    if (!head) throw Error("model", "return_type", "logits requested from a model without a head");
    out = hook_post_head_pre_normalize(head(pooled));
  }
  if (cfg_.normalize_output) out = torch::nn::functional::normalize(
      out, torch::nn::functional::NormalizeFuncOptions().dim(-1));
  return out;
}

torch::Tensor HookedViTImpl::forward(const torch::Tensor& input, const RunOptions& options) {
  const int start = options.start_at_layer.value_or(0);
  const int stop = options.stop_at_layer.value_or(cfg_.n_layers);
  if (start < 0 || start > cfg_.n_layers)
    throw Error("run", "start_at_layer", "must be in [0, " + std::to_string(cfg_.n_layers) + "]");
  if (stop < start || stop > cfg_.n_layers)
    throw Error("run", "stop_at_layer", "must be in [start_at_layer, n_layers]");

  torch::Tensor x;
  if (options.start_at_layer) {
    if (input.dim() != 3 || input.size(1) != cfg_.n_tokens() || input.size(2) != cfg_.d_model)
      throw Error("input", "residual",
                  "start_at_layer expects [batch, " + std::to_string(cfg_.n_tokens()) + ", " +
                      std::to_string(cfg_.d_model) + "]");
    x = input;
  } else {
    x = embed_pixels(input);
  }
  for (int l = start; l < stop; ++l) x = block(l).forward(x);
  if (options.stop_at_layer) return x;
  return finish(x);
}

HookPoint HookedViTImpl::hook_point(const std::string& name) const {
  auto it = hooks_.find(name);
  if (it == hooks_.end()) throw Error("model", name, "no such hook point");
  return it->second;
}

void HookedViTImpl::reset_hooks() {
  for (auto& [name, hp] : hooks_) hp->clear();
}

HookedViTImpl::CacheRun HookedViTImpl::run_with_cache(const torch::Tensor& input,
                                                      const NameFilter& filter,
                                                      const RunOptions& options) {
  std::map<std::string, torch::Tensor> store;
  torch::Tensor out;
  {
    HookScope scope(*this);
    scope.add(filter, [&store](const torch::Tensor& x, const HookPointImpl& hp) {
      store[hp.hook_name()] = x.detach();
      return torch::Tensor();
    });
    out = forward(input, options);
  }
  auto self = std::static_pointer_cast<const HookedViTImpl>(shared_from_this());
  return {out, ActivationCache(std::move(store), std::move(self))};
}

torch::Tensor HookedViTImpl::run_with_hooks(const torch::Tensor& input,
                                            const std::vector<Hook>& hooks,
                                            const RunOptions& options) {
  HookScope scope(*this);
  for (const auto& h : hooks) scope.add(h.name, h.fn, h.direction);
  return forward(input, options);
}

HookedViTImpl::GradRun HookedViTImpl::run_with_cache_and_grads(
    const torch::Tensor& input, const std::function<torch::Tensor(const torch::Tensor&)>& metric,
    const NameFilter& filter, const RunOptions& options) {
  // Parameters stop requiring grad for this run, so backward touches no .grad of theirs;
  // the first cached activation that does not require grad becomes a leaf that does, and
  // every later activation derives from it.
  std::vector<std::pair<torch::Tensor, bool>> saved;
  for (auto& p : parameters()) {
    saved.emplace_back(p, p.requires_grad());
    p.set_requires_grad(false);
  }
  struct Restore {
    std::vector<std::pair<torch::Tensor, bool>>& saved;
    ~Restore() {
      for (auto& [p, flag] : saved) p.set_requires_grad(flag);
    }
  } restore{saved};

  torch::AutoGradMode grad_on(true);
  std::map<std::string, torch::Tensor> acts, grads;
  torch::Tensor out, value;
  {
    HookScope scope(*this);
    scope.add(filter, [&acts](const torch::Tensor& x, const HookPointImpl& hp) {
      acts[hp.hook_name()] = x.detach();
      if (x.requires_grad()) return torch::Tensor();
      return x.detach().requires_grad_(true);
    });
    scope.add(
        filter,
        [&grads](const torch::Tensor& g, const HookPointImpl& hp) {
          grads[hp.hook_name()] = g.detach();
          return torch::Tensor();
        },
        HookDirection::Backward);
    out = forward(input, options);
    value = metric(out);
    if (value.numel() != 1) throw Error("metric", "", "must return a scalar");
    if (value.requires_grad()) value.backward();
  }
  auto self = std::static_pointer_cast<const HookedViTImpl>(shared_from_this());
  // Activations the metric does not depend on get a zero gradient, so keys match.
  for (const auto& [name, a] : acts)
    if (!grads.count(name)) grads[name] = torch::zeros_like(a);
  return {out.detach(), value.detach(), ActivationCache(std::move(acts), self),
          ActivationCache(std::move(grads), self)};
}

void HookedViTImpl::init_weights(uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    const std::string leaf = name.substr(name.rfind('.') + 1);
    torch::Tensor p = item.value();
    if (leaf == "w") p.fill_(1.0);             // LayerNorm weights
    else if (leaf[0] == 'b') p.zero_();        // b, b_Q, b_H, bias
    else p.normal_(0.0, kInitStd, gen);
  }
}

void HookedViTImpl::replace_head(int n_classes, std::vector<std::string> class_names) {
  ViTConfig cfg = cfg_;
  cfg.n_classes = n_classes;
  cfg.class_names = std::move(class_names);
  cfg.return_type = ReturnType::Logits;
  cfg.validate("replace_head");
  cfg_ = std::move(cfg);
  if (head) head = replace_module("head", Head(cfg_.d_model, cfg_.n_classes));
  else head = register_module("head", Head(cfg_.d_model, cfg_.n_classes));
  if (!hook_post_head_pre_normalize) {
    // A model loaded without a head had no hook after it; add it where a fresh model has it.
    hook_post_head_pre_normalize = register_module("hook_post_head_pre_normalize", HookPoint());
    hook_post_head_pre_normalize->set_hook_name("hook_post_head_pre_normalize");
    hooks_.emplace("hook_post_head_pre_normalize", hook_post_head_pre_normalize);
    hook_order_.push_back("hook_post_head_pre_normalize");
  }
}

int64_t HookedViTImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

HookScope::~HookScope() {
  for (auto& [hp, id] : added_) hp->remove(id);
}

HookScope& HookScope::add(const std::string& name, HookFn fn, HookDirection direction) {
  HookPoint hp = model_.hook_point(name);
  added_.emplace_back(hp, hp->add(std::move(fn), direction));
  return *this;
}

HookScope& HookScope::add(const NameFilter& filter, const HookFn& fn, HookDirection direction) {
  for (const auto& name : model_.hook_names())
    if (filter(name)) add(name, fn, direction);
  return *this;
}

}  // namespace prisma
