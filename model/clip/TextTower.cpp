// CLIP's causal text transformer (see TextTower.h).

#include "model/clip/TextTower.h"

#include "model/Error.h"
#include "model/io/LinearLayout.h"
#include "model/io/WeightFile.h"
#include "model/vit/HookNames.h"
#include "model/vit/StateDict.h"

#include <torch/torch.h>

#include <limits>

namespace prisma::clip {

namespace {

// The text blocks as HookedViT blocks: the same pre-LN layout, biases and LayerNorm.
ViTConfig blockConfig(const io::OpenClipTextCfg& t, Activation activation) {
  ViTConfig c;
  c.d_model = t.width;
  c.n_heads = t.heads;
  c.d_head = t.width / t.heads;
  c.d_mlp = t.mlp;
  c.n_layers = t.layers;
  c.eps = t.eps;
  c.activation = activation;
  return c;
}

}  // namespace

TextTransformerImpl::TextTransformerImpl(const io::OpenClipTextCfg& cfg, int embed_dim, Activation activation)
    : cfg_(cfg), embed_dim_(embed_dim) {
  const ViTConfig bc = blockConfig(cfg, activation);
  token_embedding = register_parameter("token_embedding", torch::zeros({cfg.vocab_size, cfg.width}));
  W_pos = register_parameter("W_pos", torch::zeros({cfg.context_length, cfg.width}));
  hook_embed = register_module("hook_embed", HookPoint());
  hook_pos_embed = register_module("hook_pos_embed", HookPoint());
  hook_full_embed = register_module("hook_full_embed", HookPoint());
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int l = 0; l < cfg.layers; ++l) blocks->push_back(TransformerBlock(bc));
  ln_final = register_module("ln_final", LayerNorm(cfg.width, cfg.eps, true));
  hook_ln_final = register_module("hook_ln_final", HookPoint());
  text_projection = register_parameter("text_projection", torch::zeros({cfg.width, embed_dim}));
  if (cfg.proj_bias) text_projection_b = register_parameter("text_projection_b", torch::zeros({embed_dim}));
  hook_text_embeds = register_module("hook_text_embeds", HookPoint());

  for (const auto& item : named_modules("", /*include_self=*/false)) {
    auto hp = std::dynamic_pointer_cast<HookPointImpl>(item.value());
    if (!hp) continue;
    hp->set_hook_name(item.key());
    hooks_.emplace(item.key(), HookPoint(hp));
  }
  // Module registration order is forward order here, ln_final's hooks before hook_ln_final.
  for (const auto& item : named_modules("", false))
    if (hooks_.count(item.key())) hook_order_.push_back(item.key());

  // The causal mask: a query sees itself and the positions before it. -inf gives those
  // scores exactly 0 after the softmax, as nn.MultiheadAttention's float mask does.
  for (int l = 0; l < cfg.layers; ++l) {
    auto block = blocks->ptr<TransformerBlockImpl>(l);
    block->attn->hook_attn_scores->add([](const torch::Tensor& scores, const HookPointImpl&) {
      const int64_t T = scores.size(-1);  // [batch, head, q, k]
      const torch::Tensor future = torch::ones({T, T}, torch::kBool).triu(1);
      return scores.masked_fill(future, -std::numeric_limits<float>::infinity());
    });
  }
}

torch::Tensor TextTransformerImpl::forward(const torch::Tensor& tokens) {
  if (tokens.dim() != 2 || tokens.scalar_type() != torch::kInt64)
    throw Error("input", "tokens", "expected int64 token ids [texts, context]");
  const int64_t n = tokens.size(0), T = tokens.size(1);
  if (T < 1 || T > cfg_.context_length)
    throw Error("input", "tokens", "has " + std::to_string(T) + " positions; the model takes at most " +
                                       std::to_string(cfg_.context_length));
  if (n > 0 && (tokens.min().item<int64_t>() < 0 || tokens.max().item<int64_t>() >= cfg_.vocab_size))
    throw Error("input", "tokens", "holds an id outside the vocabulary of " + std::to_string(cfg_.vocab_size));
  torch::Tensor x = hook_embed(token_embedding.index_select(0, tokens.reshape({-1})).view({n, T, cfg_.width}));
  torch::Tensor pos = hook_pos_embed(W_pos.narrow(0, 0, T).unsqueeze(0).expand({n, T, cfg_.width}));
  x = hook_full_embed(x + pos);
  for (int l = 0; l < cfg_.layers; ++l) x = blocks->ptr<TransformerBlockImpl>(l)->forward(x);
  x = hook_ln_final(ln_final(x));                                         // [n, T, width]
  const torch::Tensor eot = tokens.argmax(-1);                            // [n]
  torch::Tensor pooled = x.index({torch::arange(n), eot});                // [n, width]
  torch::Tensor out = torch::matmul(pooled, text_projection);            // [n, embed_dim]
  if (text_projection_b.defined()) out = out + text_projection_b;
  return hook_text_embeds(out);
}

TextTransformerImpl::CacheRun TextTransformerImpl::run_with_cache(const torch::Tensor& tokens, const NameFilter& filter) {
  CacheRun run;
  std::vector<std::pair<HookPoint, int>> added;
  struct Remove {
    std::vector<std::pair<HookPoint, int>>& added;
    ~Remove() {
      for (auto& [hp, id] : added) hp->remove(id);
    }
  } remove{added};
  for (const auto& name : hook_order_) {
    if (!filter(name)) continue;
    HookPoint hp = hooks_.at(name);
    added.emplace_back(hp, hp->add([&run](const torch::Tensor& x, const HookPointImpl& p) {
      run.cache[p.hook_name()] = x.detach();
      return torch::Tensor();
    }));
  }
  run.output = forward(tokens);
  return run;
}

void TextTransformerImpl::load(io::WeightFile& w) {
  const int64_t D = cfg_.width, H = cfg_.heads, dh = D / H, M = cfg_.mlp, E = embed_dim_;
  StateDict sd;
  sd["token_embedding"] = w.take("token_embedding.weight", {cfg_.vocab_size, D});
  sd["W_pos"] = w.take("positional_embedding", {cfg_.context_length, D});
  for (int l = 0; l < cfg_.layers; ++l) {
    const std::string oc = "transformer.resblocks." + std::to_string(l) + ".";
    const std::string hk = blockPrefix(l);
    sd[hk + "ln1.w"] = w.take(oc + "ln_1.weight", {D});
    sd[hk + "ln1.b"] = w.take(oc + "ln_1.bias", {D});
    const torch::Tensor in_w = w.take(oc + "attn.in_proj_weight", {3 * D, D});  // rows q|k|v
    const torch::Tensor in_b = w.take(oc + "attn.in_proj_bias", {3 * D});
    const char* which[] = {"Q", "K", "V"};
    for (int i = 0; i < 3; ++i) {
      sd[hk + "attn.W_" + which[i]] = io::headsIn(in_w.narrow(0, i * D, D), H, dh);
      sd[hk + "attn.b_" + which[i]] = in_b.narrow(0, i * D, D).reshape({H, dh});
    }
    sd[hk + "attn.W_O"] = io::headsOut(w.take(oc + "attn.out_proj.weight", {D, D}), H, dh);
    sd[hk + "attn.b_O"] = w.take(oc + "attn.out_proj.bias", {D});
    sd[hk + "ln2.w"] = w.take(oc + "ln_2.weight", {D});
    sd[hk + "ln2.b"] = w.take(oc + "ln_2.bias", {D});
    sd[hk + "mlp.W_in"] = w.take(oc + "mlp.c_fc.weight", {M, D}).t();
    sd[hk + "mlp.b_in"] = w.take(oc + "mlp.c_fc.bias", {M});
    sd[hk + "mlp.W_out"] = w.take(oc + "mlp.c_proj.weight", {D, M}).t();
    sd[hk + "mlp.b_out"] = w.take(oc + "mlp.c_proj.bias", {D});
  }
  sd["ln_final.w"] = w.take("ln_final.weight", {D});
  sd["ln_final.b"] = w.take("ln_final.bias", {D});
  if (cfg_.proj_bias) {  // an nn.Linear: [out, in]
    sd["text_projection"] = w.take("text_projection.weight", {E, D}).t();
    sd["text_projection_b"] = w.take("text_projection.bias", {E});
  } else {
    sd["text_projection"] = w.take("text_projection", {D, E});
  }
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    auto it = sd.find(item.key());
    if (it == sd.end()) throw Error(w.path(), item.key(), "the text tower's parameter was not loaded");
    item.value().copy_(it->second);
  }
}

}  // namespace prisma::clip
