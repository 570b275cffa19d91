// Hugging Face CLIP vision tower -> HookedViT (see ClipVisionLoader.h).

#include "model/io/ClipVisionLoader.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/LinearLayout.h"
#include "model/io/HfConfig.h"
#include "model/io/ConvertedModel.h"
#include "model/io/ModelFolder.h"
#include "model/io/WeightFile.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {
// CLIPImageProcessor's defaults (OpenAI's training statistics), for folders without one.
const std::vector<float> kClipMean = {0.48145466f, 0.4578275f, 0.40821073f};
const std::vector<float> kClipStd = {0.26862954f, 0.26130258f, 0.27577711f};
constexpr double kClipEps = 1e-5;
}  // namespace

bool isHfClip(const nlohmann::json& j) {
  const std::string type = jsonString(j, "model_type");
  return type == "clip_vision_model" || (type == "clip" && j.contains("vision_config"));
}

LoadedModel loadHfClipVision(const std::string& folder, const nlohmann::json& config, const std::string& weights) {
  const fs::path dir(folder);
  const std::string config_path = (dir / "config.json").string();
  // A whole CLIPModel keeps the tower's sizes in vision_config.
  const bool whole = jsonString(config, "model_type") == "clip";
  const nlohmann::json& v = whole ? config.at("vision_config") : config;
  if (!v.is_object()) throw Error(config_path, "vision_config", "is not an object");

  std::string weight_path = weights.empty() ? findWeightFile(folder) : weights;
  if (weight_path.empty()) throw Error((dir / "model.safetensors").string(), "", "missing");
  LoadedModel out;
  WeightFile src = WeightFile::open(weight_path, out.notes);
  src.setImpliedBy(config_path);
  if (whole) {
    src.skipPrefix("text_model.");
    src.skipPrefix("text_projection.");
    src.skipPrefix("logit_scale");
    out.notes.push_back("a whole CLIPModel: the text tower is not loaded");
  }

  ViTConfig c;
  readHfEncoderSizes(v, config_path, {"quick_gelu", kClipEps}, c);
  c.ln_pre = true;
  c.patch_bias = false;
  c.cls_token = true;
  c.pooling = Pooling::Cls;
  c.final_ln_after_pool = true;
  const bool projection = src.has("visual_projection.weight");
  if (projection) {
    c.n_classes = src.dim("visual_projection.weight", 0);
    c.return_type = ReturnType::Logits;
  } else {
    c.n_classes = 0;
    c.return_type = ReturnType::PreLogits;
  }
  c.validate(config_path);

  const int64_t D = c.d_model, H = c.n_heads, dh = c.d_head, M = c.d_mlp;
  const int64_t C = c.n_channels, P = c.patch_size, T = c.n_tokens();
  const std::string p = "vision_model.";
  StateDict sd;
  sd["cls_token"] = src.take(p + "embeddings.class_embedding", {D}).reshape({1, 1, D});
  sd["embed.proj.weight"] = src.take(p + "embeddings.patch_embedding.weight", {D, C, P, P});
  sd["pos_embed.W_pos"] = src.take(p + "embeddings.position_embedding.weight", {T, D});
  sd["ln_pre.w"] = src.take(p + "pre_layrnorm.weight", {D});
  sd["ln_pre.b"] = src.take(p + "pre_layrnorm.bias", {D});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string hf = p + "encoder.layers." + std::to_string(l) + ".";
    const std::string hk = blockPrefix(l);
    sd[hk + "ln1.w"] = src.take(hf + "layer_norm1.weight", {D});
    sd[hk + "ln1.b"] = src.take(hf + "layer_norm1.bias", {D});
    for (const auto& [which, name] : {std::pair{"Q", "q_proj"}, {"K", "k_proj"}, {"V", "v_proj"}}) {
      sd[hk + "attn.W_" + which] = headsIn(src.take(hf + "self_attn." + name + ".weight", {H * dh, D}), H, dh);
      sd[hk + "attn.b_" + which] = src.take(hf + "self_attn." + name + ".bias", {H * dh}).reshape({H, dh});
    }
    sd[hk + "attn.W_O"] = headsOut(src.take(hf + "self_attn.out_proj.weight", {D, H * dh}), H, dh);
    sd[hk + "attn.b_O"] = src.take(hf + "self_attn.out_proj.bias", {D});
    sd[hk + "ln2.w"] = src.take(hf + "layer_norm2.weight", {D});
    sd[hk + "ln2.b"] = src.take(hf + "layer_norm2.bias", {D});
    sd[hk + "mlp.W_in"] = src.take(hf + "mlp.fc1.weight", {M, D}).t();
    sd[hk + "mlp.b_in"] = src.take(hf + "mlp.fc1.bias", {M});
    sd[hk + "mlp.W_out"] = src.take(hf + "mlp.fc2.weight", {D, M}).t();
    sd[hk + "mlp.b_out"] = src.take(hf + "mlp.fc2.bias", {D});
  }
  sd["ln_final.w"] = src.take(p + "post_layernorm.weight", {D});
  sd["ln_final.b"] = src.take(p + "post_layernorm.bias", {D});
  if (projection) {
    sd["head.W_H"] = src.take("visual_projection.weight", {c.n_classes, D}).t();
    sd["head.b_H"] = torch::zeros({c.n_classes});  // the projection has no bias
  }
  // position_ids is a buffer some versions saved with the weights.
  src.skipPrefix(p + "embeddings.position_ids");
  src.checkAllUsed();

  out.model = buildModel(c, std::move(sd), weight_path);
  out.format = "hf-clip-vision";
  out.source = folder;
  out.name = dir.filename().string();
  out.notes.push_back(projection ? "the output is the image embedding (visual_projection of the pooled, normalised CLS "
                                   "token; not L2-normalised), " + std::to_string(c.n_classes) + " dimensions"
                                 : "no visual_projection: the output is the pooled, normalised CLS token");
  datasets::Preprocess fallback = defaultPreprocess(c);
  fallback.interpolation = datasets::Interpolation::Bicubic;
  if (c.n_channels == 3) {
    fallback.mean = kClipMean;
    fallback.std = kClipStd;
  }
  out.preprocess = hfPreprocess(folder, c, fallback, out.notes);
  return out;
}

}  // namespace prisma::io
