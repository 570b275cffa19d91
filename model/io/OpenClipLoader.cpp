// open_clip image tower -> HookedViT (see OpenClipLoader.h).

#include "model/io/OpenClipLoader.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/ConvertedModel.h"
#include "model/io/LinearLayout.h"
#include "model/io/WeightFile.h"
#include "model/vit/HookNames.h"

#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

// OpenAI's training statistics, open_clip's defaults for its CLIP models.
const std::vector<float> kOpenAiMean = {0.48145466f, 0.4578275f, 0.40821073f};
const std::vector<float> kOpenAiStd = {0.26862954f, 0.26130258f, 0.27577711f};
constexpr int kRgb = 3;

datasets::Preprocess preprocessOf(const OpenClipConfig& c, const ViTConfig& cfg, std::vector<std::string>& notes) {
  datasets::Preprocess p;
  p.height = p.width = cfg.image_size;
  p.channels = cfg.n_channels;
  p.interpolation = datasets::Interpolation::Bicubic;
  p.mean = kOpenAiMean;
  p.std = kOpenAiStd;
  const nlohmann::json& j = c.preprocess_cfg;
  const std::string& src = c.source;
  try {
    p.mean = jsonOptional(j, "mean", p.mean, src);
    p.std = jsonOptional(j, "std", p.std, src);
    const std::string interpolation = jsonOptional<std::string>(j, "interpolation", "bicubic", src);
    p.interpolation = datasets::interpolationFromString(interpolation);
  } catch (const std::invalid_argument& e) {
    throw Error(src, "preprocess_cfg.interpolation", e.what());
  }
  if (p.mean.size() != static_cast<size_t>(kRgb) || p.std.size() != p.mean.size())
    throw Error(src, "preprocess_cfg.mean", "needs one value per channel (3)");
  for (float s : p.std)
    if (!(s > 0.0f)) throw Error(src, "preprocess_cfg.std", "must be positive");
  const std::string mode = jsonOptional<std::string>(j, "resize_mode", "shortest", src);
  if (mode != "squash")
    notes.push_back("preprocess_cfg.resize_mode '" + mode + "' (resize and centre-crop) is done as a direct resize to " +
                    std::to_string(cfg.image_size) + "x" + std::to_string(cfg.image_size));
  return p;
}

}  // namespace

LoadedModel loadOpenClip(const OpenClipFiles& files, const LoadOptions& options) {
  LoadedModel out;
  WeightFile src = WeightFile::open(files.weights, out.notes);
  if (src.stripPrefix("module.")) out.notes.push_back("dropped the 'module.' prefix (a DataParallel checkpoint)");
  const OpenClipConfig oc = openClipConfig(files, src, options, out.notes);
  src.setImpliedBy(oc.source);
  const OpenClipVisionCfg& v = oc.vision;

  ViTConfig c;
  c.image_size = v.image_size;
  c.patch_size = v.patch_size;
  c.n_channels = kRgb;
  c.d_model = v.width;
  c.n_heads = v.heads;
  c.d_head = v.width / v.heads;
  c.d_mlp = v.mlp;
  c.n_layers = v.layers;
  c.n_classes = oc.embed_dim;
  c.eps = v.eps;
  c.activation = oc.quick_gelu ? Activation::QuickGelu : Activation::GeluErf;
  c.ln_pre = v.ln_pre;
  c.patch_bias = false;
  c.cls_token = true;
  c.pooling = Pooling::Cls;
  // ln_post on every token before pooling (open_clip's default order) keeps
  // hook_ln_final per token, as open_clip computes it; LayerNorm is per token, so the
  // pooled value is the same either way.
  c.final_ln_after_pool = v.final_ln_after_pool;
  c.return_type = ReturnType::Logits;
  c.validate(oc.source);

  const int64_t D = c.d_model, H = c.n_heads, dh = c.d_head, M = c.d_mlp;
  const int64_t P = c.patch_size, T = c.n_tokens(), E = c.n_classes;
  const std::string p = "visual.";
  StateDict sd;
  sd["embed.proj.weight"] = src.take(p + "conv1.weight", {D, kRgb, P, P});
  sd["cls_token"] = src.take(p + "class_embedding", {D}).reshape({1, 1, D});
  sd["pos_embed.W_pos"] = src.take(p + "positional_embedding", {T, D});
  if (c.ln_pre) {
    sd["ln_pre.w"] = src.take(p + "ln_pre.weight", {D});
    sd["ln_pre.b"] = src.take(p + "ln_pre.bias", {D});
  }
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string oc_block = p + "transformer.resblocks." + std::to_string(l) + ".";
    const std::string hk = blockPrefix(l);
    sd[hk + "ln1.w"] = src.take(oc_block + "ln_1.weight", {D});
    sd[hk + "ln1.b"] = src.take(oc_block + "ln_1.bias", {D});
    // in_proj rows: q (D rows), k, v; each split into heads as an nn.Linear weight.
    const torch::Tensor in_w = src.take(oc_block + "attn.in_proj_weight", {3 * H * dh, D});
    const torch::Tensor in_b = src.take(oc_block + "attn.in_proj_bias", {3 * H * dh});
    const char* which[] = {"Q", "K", "V"};
    for (int i = 0; i < 3; ++i) {
      sd[hk + "attn.W_" + which[i]] = headsIn(in_w.narrow(0, i * H * dh, H * dh), H, dh);
      sd[hk + "attn.b_" + which[i]] = in_b.narrow(0, i * H * dh, H * dh).reshape({H, dh});
    }
    sd[hk + "attn.W_O"] = headsOut(src.take(oc_block + "attn.out_proj.weight", {D, H * dh}), H, dh);
    sd[hk + "attn.b_O"] = src.take(oc_block + "attn.out_proj.bias", {D});
    sd[hk + "ln2.w"] = src.take(oc_block + "ln_2.weight", {D});
    sd[hk + "ln2.b"] = src.take(oc_block + "ln_2.bias", {D});
    sd[hk + "mlp.W_in"] = src.take(oc_block + "mlp.c_fc.weight", {M, D}).t();
    sd[hk + "mlp.b_in"] = src.take(oc_block + "mlp.c_fc.bias", {M});
    sd[hk + "mlp.W_out"] = src.take(oc_block + "mlp.c_proj.weight", {D, M}).t();
    sd[hk + "mlp.b_out"] = src.take(oc_block + "mlp.c_proj.bias", {D});
  }
  sd["ln_final.w"] = src.take(p + "ln_post.weight", {D});
  sd["ln_final.b"] = src.take(p + "ln_post.bias", {D});
  sd["head.W_H"] = src.take(p + "proj", {D, E});
  sd["head.b_H"] = torch::zeros({E});  // proj has no bias
  for (const auto& prefix : openClipTextPrefixes()) src.skipPrefix(prefix);
  src.checkAllUsed();

  out.model = buildModel(c, std::move(sd), files.weights);
  out.format = "open_clip";
  out.source = files.config_path.empty() ? files.weights : fs::path(files.config_path).parent_path().string();
  out.name = fs::path(out.source).filename().string();
  out.notes.push_back("open_clip CLIP image tower: the output is image_features (ln_post of the CLS token @ proj, " +
                      std::to_string(E) + " dimensions, not normalised); " +
                      (oc.quick_gelu ? "QuickGELU" : "GELU (erf)"));
  out.preprocess = preprocessOf(oc, c, out.notes);
  return out;
}

}  // namespace prisma::io
