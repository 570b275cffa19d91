// ViT-Prisma checkpoints -> HookedViT (see VitPrismaLoader.h).

#include "model/io/VitPrismaLoader.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/LinearLayout.h"
#include "model/io/ConvertedModel.h"
#include "model/io/ModelFolder.h"
#include "model/io/TorchArchive.h"
#include "model/io/WeightFile.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <regex>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

constexpr double kVitPrismaEps = 1e-6;     // HookedViTConfig's default
constexpr double kTorchLayerNormEps = 1e-5;  // nn.LayerNorm's default, what BaseViT used
constexpr int kLegacyDefaultHeads = 4;       // every preset mouse but dSprites
constexpr int kDefaultMlpRatio = 4;          // d_mlp = 4 * d_model when a config omits it
constexpr const char* kCheckpointFolder = "checkpoints";
constexpr long kMaxStepDigits = 18;  // fits int64

int countBlocks(const WeightFile& src, const std::string& probe) {
  int n = 0;
  while (src.has(blockPrefix(n) + probe)) ++n;
  return n;
}

// A config's d_model may be anything; 4x of it must not overflow before validate() runs.
int defaultMlpWidth(int d_model) {
  return static_cast<int>(std::clamp<int64_t>(int64_t(kDefaultMlpRatio) * d_model, 0, std::numeric_limits<int>::max()));
}

// The mice trained on raw [0, 1] pixels: no normalisation.
datasets::Preprocess rawPixels(const ViTConfig& cfg) {
  datasets::Preprocess p = defaultPreprocess(cfg);
  p.interpolation = datasets::Interpolation::Nearest;
  p.mean.assign(cfg.n_channels, 0.0f);
  p.std.assign(cfg.n_channels, 1.0f);
  return p;
}

// The nested config BaseViT's trainer wrote, as a HookedViT config.
ViTConfig legacyConfig(const nlohmann::json& j, const std::string& source, const WeightFile& src,
                       std::vector<std::string>& notes) {
  const nlohmann::json& image = j.at("image");
  const nlohmann::json& tr = j.at("transformer");
  const nlohmann::json ln = j.value("layernorm", nlohmann::json::object());
  const nlohmann::json cls = j.value("classification", nlohmann::json::object());
  ViTConfig c;
  c.image_size = jsonRequired<int>(image, "image_size", source);
  c.patch_size = jsonRequired<int>(image, "patch_size", source);
  c.n_channels = jsonRequired<int>(image, "n_channels", source);
  c.d_model = jsonRequired<int>(tr, "hidden_dim", source);
  c.n_heads = jsonRequired<int>(tr, "num_heads", source);
  if (c.n_heads <= 0 || c.d_model % c.n_heads != 0)
    throw Error(source, "num_heads", std::to_string(c.n_heads) + " heads do not divide hidden_dim " + std::to_string(c.d_model));
  c.d_head = c.d_model / c.n_heads;
  c.n_layers = jsonRequired<int>(tr, "num_layers", source);
  c.attn_only = jsonOptional(tr, "attention_only", false, source);
  c.d_mlp = jsonOptional(tr, "mlp_dim", defaultMlpWidth(c.d_model), source);
  c.activation = activationFromName(jsonOptional<std::string>(tr, "activation_name", "GELU", source), source,
                                    "activation_name");
  if (jsonOptional(ln, "qknorm", false, source)) throw Error(source, "qknorm", "query/key normalisation is not supported");
  c.eps = jsonOptional(ln, "layer_norm_eps", 0.0, source);
  c.normalization = c.eps > 0.0 ? Normalization::LN : Normalization::None;
  c.legacy_post_ln = true;
  c.mlp_hidden_norm = true;
  c.ln_pre = true;
  c.final_ln_after_pool = true;
  c.patch_bias = src.has("patch_embedding.proj.bias");
  c.qkv_bias = src.has("blocks.0.attention.qkv.bias");
  c.cls_token = src.has("cls_token");
  c.pooling = c.cls_token && !jsonOptional(cls, "global_pool", false, source) ? Pooling::Cls : Pooling::Mean;
  if (c.pooling == Pooling::Mean && c.cls_token) notes.push_back("global_pool: mean over every token, CLS included");
  // The early config's "classification" was not a dataclass and saved empty.
  c.n_classes = jsonOptional(cls, "num_classes", src.dim("head.weight", 0), source);
  if (!cls.contains("num_classes")) notes.push_back("class count from head.weight (the config's classification is empty)");
  if (c.normalization == Normalization::None) notes.push_back("layer_norm_eps 0: no LayerNorm anywhere, as BaseViT did");
  c.validate(source);
  return c;
}

// The same shape read off the tensors, for a lone .pth without its run folder.
ViTConfig legacyConfigFromTensors(const WeightFile& src, const LoadOptions& options, std::vector<std::string>& notes) {
  nlohmann::json j;
  const std::string pe = "patch_embedding.proj.weight";
  const auto pw = src.shape(pe);
  if (pw.size() != 4 || pw[2] != pw[3]) throw Error(src.path(), pe, "is not a square kernel");
  const bool cls = src.has("cls_token");
  const int64_t patches = src.dim("position_embedding", 1) - (cls ? 1 : 0);
  const int image = inferredImageSize(patches, src.dim(pe, 2), src.path(), "position_embedding");
  const int heads = options.n_heads.value_or(kLegacyDefaultHeads);
  const bool has_ln = src.has("pre_block_norm.weight");
  const bool has_mlp = src.has("blocks.0.mlp.fc1.weight");
  j["image"] = {{"image_size", image}, {"patch_size", src.dim(pe, 2)}, {"n_channels", src.dim(pe, 1)}};
  j["transformer"] = {{"hidden_dim", src.dim(pe, 0)},
                      {"num_heads", heads},
                      {"num_layers", countBlocks(src, "attention.qkv.weight")},
                      {"mlp_dim", has_mlp ? src.dim("blocks.0.mlp.fc1.weight", 0) : kDefaultMlpRatio * int64_t(src.dim(pe, 0))},
                      {"attention_only", !has_mlp}};
  j["layernorm"] = {{"layer_norm_eps", has_ln ? kTorchLayerNormEps : 0.0}};
  notes.push_back("no config.json in the run folder: shape inferred from the tensors; " + std::to_string(heads) +
                  " heads " + (options.n_heads ? "as given" : "assumed (the tensors do not store it; pass --heads)") +
                  (has_ln ? ", LayerNorm eps 1e-5 assumed" : ", no LayerNorm") + ", GELU assumed");
  return legacyConfig(j, src.path(), src, notes);
}

// ViT-Prisma's flat HookedViTConfig.
ViTConfig vitPrismaConfig(const nlohmann::json& j, const std::string& source) {
  ViTConfig c;
  c.n_layers = jsonRequired<int>(j, "n_layers", source);
  c.d_model = jsonRequired<int>(j, "d_model", source);
  c.n_heads = jsonOptional(j, "n_heads", 4, source);
  c.d_head = jsonOptional(j, "d_head", c.n_heads > 0 ? c.d_model / c.n_heads : 0, source);
  c.attn_only = jsonOptional(j, "attn_only", false, source);
  c.d_mlp = jsonOptional(j, "d_mlp", defaultMlpWidth(c.d_model), source);
  c.image_size = jsonOptional(j, "image_size", 224, source);
  c.patch_size = jsonOptional(j, "patch_size", 32, source);
  c.n_channels = jsonOptional(j, "n_channels", 3, source);
  c.n_classes = jsonOptional(j, "n_classes", 10, source);
  c.eps = jsonOptional(j, "eps", kVitPrismaEps, source);
  const nlohmann::json norm = j.value("normalization_type", nlohmann::json("LN"));
  if (norm.is_null()) c.normalization = Normalization::None;
  else if (norm == "LN") c.normalization = Normalization::LN;
  else if (norm == "LNPre") c.normalization = Normalization::LNPre;
  else throw Error(source, "normalization_type", "unsupported value " + norm.dump() + " (LN, LNPre or null)");
  c.activation = activationFromName(jsonOptional<std::string>(j, "activation_name", "gelu", source), source, "activation_name");
  c.cls_token = jsonOptional(j, "use_cls_token", true, source);
  c.ln_pre = jsonOptional(j, "layer_norm_pre", false, source);
  const std::string pool = jsonOptional<std::string>(j, "classification_type", "cls", source);
  if (pool != "cls" && pool != "gaap") throw Error(source, "classification_type", "unsupported value '" + pool + "' (cls or gaap)");
  c.pooling = pool == "cls" ? Pooling::Cls : Pooling::Mean;
  const std::string ret = jsonOptional<std::string>(j, "return_type", "class_logits", source);
  c.return_type = ret == "pre_logits" ? ReturnType::PreLogits : ReturnType::Logits;
  c.normalize_output = jsonOptional(j, "normalize_output", false, source);
  c.use_attn_result = jsonOptional(j, "use_attn_result", false, source);
  return c;
}

// A HookedViT state dict's shape, from the tensors.
ViTConfig hookedConfigFromTensors(const WeightFile& src, std::vector<std::string>& notes) {
  ViTConfig c;
  const auto pw = src.shape("embed.proj.weight");
  if (pw.size() != 4 || pw[2] != pw[3]) throw Error(src.path(), "embed.proj.weight", "is not a square kernel");
  c.d_model = src.dim("embed.proj.weight", 0);
  c.n_channels = src.dim("embed.proj.weight", 1);
  c.patch_size = src.dim("embed.proj.weight", 2);
  const auto wq = src.shape("blocks.0.attn.W_Q");
  if (wq.size() != 3) throw Error(src.path(), "blocks.0.attn.W_Q", "is not [head, d_model, d_head]");
  c.n_heads = src.dim("blocks.0.attn.W_Q", 0);
  c.d_head = src.dim("blocks.0.attn.W_Q", 2);
  c.n_layers = countBlocks(src, "attn.W_Q");
  c.attn_only = !src.has("blocks.0.mlp.W_in");
  if (!c.attn_only) c.d_mlp = src.dim("blocks.0.mlp.W_in", 1);
  c.cls_token = src.has("cls_token");
  c.pooling = c.cls_token ? Pooling::Cls : Pooling::Mean;
  c.image_size = inferredImageSize(src.dim("pos_embed.W_pos", 0) - (c.cls_token ? 1 : 0), c.patch_size, src.path(),
                                   "pos_embed.W_pos");
  c.patch_bias = src.has("embed.proj.bias");
  c.ln_pre = src.has("ln_pre.w");
  c.normalization = src.has("ln_final.w") ? Normalization::LN : Normalization::None;
  c.eps = kVitPrismaEps;
  c.n_classes = src.has("head.W_H") ? src.dim("head.W_H", 1) : 0;
  c.return_type = c.n_classes > 0 ? ReturnType::Logits : ReturnType::PreLogits;
  notes.push_back("no config: HookedViT shape inferred from the tensors (" + std::to_string(c.n_layers) + " layers, " +
                  std::to_string(c.n_heads) + " heads, pooling " + toString(c.pooling) + "); assumed GELU, eps 1e-6" +
                  (c.normalization == Normalization::None ? ", and no LayerNorm (none has weights; folded LNPre "
                                                            "models look the same -- give a config for those)"
                                                          : ""));
  return c;
}

}  // namespace

bool isLegacyMouseConfig(const nlohmann::json& j) {
  return j.is_object() && j.contains("image") && j.at("image").is_object() && j.contains("transformer") &&
         j.at("transformer").is_object();
}

bool isVitPrismaConfig(const nlohmann::json& j) {
  return j.is_object() && j.contains("d_model") && j.contains("n_layers") && !j.contains("format");
}

bool hasHookedVitNames(const WeightFile& w) { return w.has("embed.proj.weight") && w.has("blocks.0.attn.W_Q"); }

bool hasLegacyMouseNames(const WeightFile& w) {
  return w.has("patch_embedding.proj.weight") && w.has("blocks.0.attention.qkv.weight");
}

LoadedModel loadLegacyMouse(const std::string& run_dir, const nlohmann::json* config, const std::string& checkpoint,
                            const LoadOptions& options) {
  const fs::path dir(run_dir);
  const std::string config_path = (dir / "config.json").string();
  std::string ckpt = checkpoint;
  if (ckpt.empty()) {
    std::string folder = kCheckpointFolder;
    if (config) {
      const nlohmann::json saving = config->value("saving", nlohmann::json::object());
      folder = jsonOptional<std::string>(saving, "save_dir", folder, config_path);
    }
    ckpt = latestCheckpoint((dir / folder).string());
    if (ckpt.empty()) throw Error((dir / folder).string(), "", "no model_N.pth checkpoint in the run folder");
  }
  LoadedModel out;
  TorchArchive archive(ckpt);
  StateDict tensors = archive.modelStateDict(out.notes);
  WeightFile src(ckpt, std::move(tensors));
  if (src.stripPrefix("module.")) out.notes.push_back("dropped the 'module.' prefix (a DataParallel checkpoint)");
  src.setImpliedBy(config ? config_path : "the inferred shape");
  ViTConfig cfg = config ? legacyConfig(*config, config_path, src, out.notes) : legacyConfigFromTensors(src, options, out.notes);
  if (config && options.n_heads) {
    cfg.n_heads = *options.n_heads;
    cfg.d_head = cfg.n_heads > 0 ? cfg.d_model / cfg.n_heads : 0;
    cfg.validate(config_path);
  }

  const int64_t D = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head, M = cfg.d_mlp;
  const int64_t C = cfg.n_channels, P = cfg.patch_size, T = cfg.n_tokens();
  const bool ln = cfg.has_ln();
  StateDict sd;
  if (cfg.cls_token) sd["cls_token"] = src.take("cls_token", {1, 1, D});
  sd["pos_embed.W_pos"] = src.take("position_embedding", {1, T, D}).reshape({T, D});
  sd["embed.proj.weight"] = src.take("patch_embedding.proj.weight", {D, C, P, P});
  if (cfg.patch_bias) sd["embed.proj.bias"] = src.take("patch_embedding.proj.bias", {D});
  auto norm = [&](const std::string& ours, const std::string& theirs, int64_t width) {
    if (!ln) return;
    sd[ours + ".w"] = src.take(theirs + ".weight", {width});
    sd[ours + ".b"] = src.take(theirs + ".bias", {width});
  };
  norm("ln_pre", "pre_block_norm", D);
  const bool has_proj = src.has("blocks.0.attention.proj.weight");
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string b = blockPrefix(l);
    // BaseViT's fused qkv rows are (q|k|v, head, d_head), as timm's.
    const torch::Tensor qkv = src.take(b + "attention.qkv.weight", {3 * D, D});
    const torch::Tensor qkv_b = cfg.qkv_bias ? src.take(b + "attention.qkv.bias", {3 * D}) : torch::Tensor();
    const char* which[] = {"Q", "K", "V"};
    for (int i = 0; i < 3; ++i) {
      sd[b + "attn.W_" + which[i]] = headsIn(qkv.slice(0, i * D, (i + 1) * D), H, dh);
      if (qkv_b.defined()) sd[b + "attn.b_" + which[i]] = qkv_b.slice(0, i * D, (i + 1) * D).reshape({H, dh});
    }
    if (has_proj) {
      sd[b + "attn.W_O"] = headsOut(src.take(b + "attention.proj.weight", {D, D}), H, dh);
      sd[b + "attn.b_O"] = src.take(b + "attention.proj.bias", {D});
    } else {
      // attn_hidden_layer off: the heads' concatenation is the output.
      sd[b + "attn.W_O"] = torch::eye(D).reshape({H, dh, D});
      sd[b + "attn.b_O"] = torch::zeros({D});
    }
    norm(b + "ln1", b + "post_attn_ln", D);
    if (!cfg.attn_only) {
      sd[b + "mlp.W_in"] = src.take(b + "mlp.fc1.weight", {M, D}).t();
      sd[b + "mlp.b_in"] = src.take(b + "mlp.fc1.bias", {M});
      norm(b + "mlp.ln", b + "mlp.mlp_norm", M);
      sd[b + "mlp.W_out"] = src.take(b + "mlp.fc2.weight", {D, M}).t();
      sd[b + "mlp.b_out"] = src.take(b + "mlp.fc2.bias", {D});
      norm(b + "ln2", b + "post_mlp_ln", D);
    }
  }
  if (!has_proj) out.notes.push_back("no attention output projection (attn_hidden_layer off): W_O is the identity");
  norm("ln_final", "pre_head_norm", D);
  sd["head.W_H"] = src.take("head.weight", {cfg.n_classes, D}).t();
  sd["head.b_H"] = src.take("head.bias", {cfg.n_classes});
  src.checkAllUsed();

  out.model = buildModel(cfg, std::move(sd), ckpt);
  out.format = "vit-prisma-legacy";
  out.source = ckpt;
  out.name = dir.filename().string();
  out.preprocess = rawPixels(cfg);
  out.notes.push_back("checkpoint " + fs::path(ckpt).filename().string() +
                      "; inputs are raw [0, 1] pixels (mean 0, std 1), as the trainer fed them");

  // What the training run knew, kept for training.json when converted.
  nlohmann::json training = {{"source_checkpoint", ckpt}};
  static const std::regex kSamples(R"(model_(\d+)\.pth?)");
  std::smatch m;
  const std::string file = fs::path(ckpt).filename().string();
  if (std::regex_match(file, m, kSamples) && m[1].length() <= kMaxStepDigits) training["num_samples"] = std::stoll(m[1].str());
  if (const pickle::Value* epoch = archive.root().isDict() ? archive.root().find("epoch") : nullptr;
      epoch && epoch->kind == pickle::Value::Kind::Int)
    training["epoch"] = epoch->integer;
  if (config && config->contains("training")) training["original_training_config"] = config->at("training");
  training["optimizer_state"] = "not carried over (the original checkpoint keeps it)";
  out.training_json = training.dump(2);
  return out;
}

LoadedModel loadVitPrismaStateDict(const std::string& weights, const nlohmann::json* config,
                                   const std::string& config_path) {
  LoadedModel out;
  WeightFile src = WeightFile::open(weights, out.notes);
  if (src.stripPrefix("module.")) out.notes.push_back("dropped the 'module.' prefix (a DataParallel checkpoint)");
  ViTConfig cfg = config ? vitPrismaConfig(*config, config_path) : hookedConfigFromTensors(src, out.notes);
  // Head or not, the class count and the attention biases are what the weights hold.
  cfg.qkv_bias = src.has("blocks.0.attn.b_Q");
  if (src.has("head.W_H")) cfg.n_classes = src.dim("head.W_H", 1);
  else {
    cfg.n_classes = 0;
    cfg.return_type = ReturnType::PreLogits;
  }
  cfg.validate(config ? config_path : weights);
  addImageNetNamesIfMissing(cfg, out.notes);
  StateDict sd;
  for (const auto& name : src.names()) sd[name] = src.take(name);
  out.model = buildModel(cfg, std::move(sd), weights);
  out.format = "vit-prisma";
  out.source = weights;
  out.name = fs::path(weights).parent_path().filename().string();
  out.preprocess = defaultPreprocess(cfg);
  return out;
}

}  // namespace prisma::io
