#include "model/vit/WeightProcessing.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"
#include "model/vit/StateDict.h"

#include <torch/torch.h>

namespace prisma {

namespace {

torch::Tensor centred(const torch::Tensor& t, int64_t dim) { return t - t.mean(dim, /*keepdim=*/true); }

void foldLayerNorm(prisma::StateDict& sd, ViTConfig& cfg) {
  if (cfg.normalization != Normalization::LN) return;  // nothing to fold
  if (cfg.legacy_post_ln || cfg.mlp_hidden_norm || cfg.ln_pre)
    throw Error("fold_ln", "normalization",
                "only pre-LN models whose LayerNorms all feed linear maps can be folded");
  auto take = [&sd](const std::string& name) {
    torch::Tensor t = sd.at(name);
    sd.erase(name);
    return t;
  };
  // ln1's bias becomes a query/key/value bias: a model without them gains them.
  const bool hadQkvBias = cfg.qkv_bias;
  cfg.qkv_bias = true;
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string b = blockPrefix(l);
    const torch::Tensor w1 = take(b + "ln1.w"), b1 = take(b + "ln1.b");
    for (const char* x : {"Q", "K", "V"}) {
      torch::Tensor W = sd.at(b + "attn.W_" + x);  // [H, D, dh]
      const torch::Tensor bias = hadQkvBias ? sd.at(b + "attn.b_" + x) : torch::zeros({W.size(0), W.size(2)});
      sd[b + "attn.b_" + x] = bias + torch::einsum("d,hdk->hk", {b1, W});
      sd[b + "attn.W_" + x] = centred(W * w1.view({1, -1, 1}), 1);
    }
    if (cfg.attn_only) continue;
    const torch::Tensor w2 = take(b + "ln2.w"), b2 = take(b + "ln2.b");
    torch::Tensor W_in = sd.at(b + "mlp.W_in");  // [D, M]
    sd[b + "mlp.b_in"] = sd.at(b + "mlp.b_in") + torch::matmul(b2, W_in);
    sd[b + "mlp.W_in"] = centred(W_in * w2.view({-1, 1}), 0);
  }
  const torch::Tensor wf = take("ln_final.w"), bf = take("ln_final.b");
  if (sd.count("head.W_H")) {
    torch::Tensor W_H = sd.at("head.W_H");  // [D, classes]
    sd["head.b_H"] = sd.at("head.b_H") + torch::matmul(bf, W_H);
    sd["head.W_H"] = centred(W_H * wf.view({-1, 1}), 0);
  }
  cfg.normalization = Normalization::LNPre;
}

void centerWritingWeights(prisma::StateDict& sd, const ViTConfig& cfg) {
  if (!cfg.has_ln() || cfg.legacy_post_ln)
    throw Error("center_writing_weights", "normalization",
                "needs a LayerNorm in front of every reader of the residual stream");
  sd["embed.proj.weight"] = centred(sd.at("embed.proj.weight"), 0);  // [D, C, P, P]
  if (sd.count("embed.proj.bias")) sd["embed.proj.bias"] = centred(sd.at("embed.proj.bias"), -1);
  sd["pos_embed.W_pos"] = centred(sd.at("pos_embed.W_pos"), -1);
  if (sd.count("cls_token")) sd["cls_token"] = centred(sd.at("cls_token"), -1);
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string b = blockPrefix(l);
    sd[b + "attn.W_O"] = centred(sd.at(b + "attn.W_O"), -1);
    sd[b + "attn.b_O"] = centred(sd.at(b + "attn.b_O"), -1);
    if (cfg.attn_only) continue;
    sd[b + "mlp.W_out"] = centred(sd.at(b + "mlp.W_out"), -1);
    sd[b + "mlp.b_out"] = centred(sd.at(b + "mlp.b_out"), -1);
  }
}

void foldValueBiases(prisma::StateDict& sd, const ViTConfig& cfg) {
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string b = hookName(l, "attn.");
    if (!sd.count(b + "b_V")) continue;  // no qkv_bias: no value bias to fold
    const torch::Tensor b_V = sd.at(b + "b_V");  // [H, dh]
    sd[b + "b_O"] = sd.at(b + "b_O") + torch::einsum("hk,hkd->d", {b_V, sd.at(b + "W_O")});
    sd[b + "b_V"] = torch::zeros_like(b_V);
  }
}

}  // namespace

HookedViT processWeights(const HookedViT& model, const WeightProcessingOptions& options) {
  torch::NoGradGuard no_grad;
  ViTConfig cfg = model->cfg();
  prisma::StateDict sd;
  for (const auto& [name, t] : prisma::stateDict(*model)) sd[name] = t.clone();
  if (options.fold_ln) foldLayerNorm(sd, cfg);
  if (options.center_writing_weights) centerWritingWeights(sd, cfg);
  if (options.fold_value_biases) foldValueBiases(sd, cfg);
  HookedViT out(cfg);
  prisma::loadStateDict(*out, sd, "processed weights");
  out->train(model->is_training());
  return out;
}

}  // namespace prisma
