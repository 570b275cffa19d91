// Hugging Face ViT <-> HookedViT (see HfVitLoader.h). Both naming schemes map onto the
// same HookedViT parameters; export writes the classic scheme, which every transformers
// version reads.

#include "model/io/HfVitLoader.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/LinearLayout.h"
#include "model/io/ExportedWeights.h"
#include "model/io/HfConfig.h"
#include "model/io/ConvertedModel.h"
#include "model/io/WeightFile.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

constexpr const char* kPoolerActivation = "tanh";  // the only pooler ViTModel has
constexpr double kHfInitializerRange = 0.02;
// ViTConfig.layer_norm_eps default in transformers.
constexpr double kHfVitEps = 1e-12;

// Where each HookedViT piece lives in one block, per naming scheme.
struct BlockNames {
  std::string ln1, ln2, q, k, v, o, fc1, fc2;
};

const BlockNames kClassicNames = {"layernorm_before", "layernorm_after",
                                  "attention.attention.query", "attention.attention.key",
                                  "attention.attention.value", "attention.output.dense",
                                  "intermediate.dense", "output.dense"};
const BlockNames kTransformers5Names = {"layernorm_before", "layernorm_after", "attention.q_proj",
                                        "attention.k_proj", "attention.v_proj", "attention.o_proj",
                                        "mlp.fc1", "mlp.fc2"};

std::string hfActivationName(Activation a) {
  switch (a) {
    case Activation::GeluErf: return "gelu";
    case Activation::GeluTanh: return "gelu_new";
    case Activation::QuickGelu: return "quick_gelu";
    case Activation::Relu: return "relu";
  }
  return "gelu";
}

}  // namespace

bool isHfVit(const nlohmann::json& config) { return jsonString(config, "model_type") == "vit"; }

ViTConfig hfVitConfig(const nlohmann::json& j, const std::string& source, bool with_head) {
  ViTConfig c;
  readHfEncoderSizes(j, source, {"gelu", kHfVitEps}, c);
  c.normalization = Normalization::LN;
  c.qkv_bias = jsonOptional(j, "qkv_bias", true, source);
  c.patch_bias = true;
  c.cls_token = true;
  c.pooling = Pooling::Cls;
  if (!with_head) {
    c.n_classes = 0;
    c.return_type = ReturnType::PreLogits;
  } else if (auto it = j.find("id2label"); it != j.end() && it->is_object() && !it->empty()) {
    std::vector<std::string> names(it->size());
    for (auto e = it->begin(); e != it->end(); ++e) {
      size_t idx = 0;
      try {
        size_t used = 0;
        idx = std::stoul(e.key(), &used);
        if (used != e.key().size()) throw std::invalid_argument(e.key());
      } catch (const std::exception&) {
        throw Error(source, "id2label", "key '" + e.key() + "' is not a class index");
      }
      if (idx >= names.size()) throw Error(source, "id2label", "class index " + e.key() + " out of range");
      names[idx] = e.value().is_string() ? e.value().get<std::string>() : e.value().dump();
    }
    c.class_names = names;
    c.n_classes = static_cast<int>(names.size());
  } else {
    c.n_classes = jsonRequired<int>(j, "num_labels", source);
  }
  c.validate(source);
  return c;
}

LoadedModel loadHfVit(const std::string& folder, const nlohmann::json& config, const std::string& weights) {
  const fs::path dir(folder);
  const std::string config_path = (dir / "config.json").string();
  std::string weight_path = weights;
  if (weight_path.empty()) {
    for (const char* name : {"model.safetensors", "pytorch_model.bin"})
      if (fs::exists(dir / name)) {
        weight_path = (dir / name).string();
        break;
      }
    if (weight_path.empty())
      throw Error((dir / "model.safetensors").string(), "", "missing (expected model.safetensors or pytorch_model.bin)");
  }
  LoadedModel out;
  WeightFile src = WeightFile::open(weight_path, out.notes);
  src.setImpliedBy(config_path);

  // ViTForImageClassification nests the encoder under `vit.`; ViTModel saves it bare.
  const std::string p = src.has("vit.embeddings.cls_token") ? "vit." : "";
  const bool with_head = src.has("classifier.weight");
  ViTConfig cfg = hfVitConfig(config, config_path, with_head);
  const bool v5 = src.hasPrefix(p + "layers.");
  const BlockNames& n = v5 ? kTransformers5Names : kClassicNames;
  if (v5) out.notes.push_back("transformers-5 parameter names (" + p + "layers.N.attention.q_proj, mlp.fc1, ...)");

  const int64_t D = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head, M = cfg.d_mlp;
  const int64_t C = cfg.n_channels, P = cfg.patch_size, T = cfg.n_tokens();
  StateDict sd;
  const std::string e = p + "embeddings.";
  sd["cls_token"] = src.take(e + "cls_token", {1, 1, D});
  sd["pos_embed.W_pos"] = src.take(e + "position_embeddings", {1, T, D}).reshape({T, D});
  sd["embed.proj.weight"] = src.take(e + "patch_embeddings.projection.weight", {D, C, P, P});
  sd["embed.proj.bias"] = src.take(e + "patch_embeddings.projection.bias", {D});
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string hf = p + (v5 ? "layers." : "encoder.layer.") + std::to_string(l) + ".";
    const std::string hk = blockPrefix(l);
    sd[hk + "ln1.w"] = src.take(hf + n.ln1 + ".weight", {D});
    sd[hk + "ln1.b"] = src.take(hf + n.ln1 + ".bias", {D});
    for (const auto& [which, name] : {std::pair{"Q", n.q}, {"K", n.k}, {"V", n.v}}) {
      sd[hk + "attn.W_" + which] = headsIn(src.take(hf + name + ".weight", {H * dh, D}), H, dh);
      // qkv_bias false: HF's Linear(bias=False), and a HookedViT without b_Q/b_K/b_V.
      if (cfg.qkv_bias) sd[hk + "attn.b_" + which] = src.take(hf + name + ".bias", {H * dh}).reshape({H, dh});
    }
    sd[hk + "attn.W_O"] = headsOut(src.take(hf + n.o + ".weight", {D, H * dh}), H, dh);
    sd[hk + "attn.b_O"] = src.take(hf + n.o + ".bias", {D});
    sd[hk + "ln2.w"] = src.take(hf + n.ln2 + ".weight", {D});
    sd[hk + "ln2.b"] = src.take(hf + n.ln2 + ".bias", {D});
    sd[hk + "mlp.W_in"] = src.take(hf + n.fc1 + ".weight", {M, D}).t();
    sd[hk + "mlp.b_in"] = src.take(hf + n.fc1 + ".bias", {M});
    sd[hk + "mlp.W_out"] = src.take(hf + n.fc2 + ".weight", {D, M}).t();
    sd[hk + "mlp.b_out"] = src.take(hf + n.fc2 + ".bias", {D});
  }
  sd["ln_final.w"] = src.take(p + "layernorm.weight", {D});
  sd["ln_final.b"] = src.take(p + "layernorm.bias", {D});
  if (with_head) {
    sd["head.W_H"] = src.take("classifier.weight", {cfg.n_classes, D}).t();
    sd["head.b_H"] = src.take("classifier.bias", {cfg.n_classes});
  }
  if (src.has(p + "pooler.dense.weight")) {
    const std::string act = jsonOptional<std::string>(config, "pooler_act", kPoolerActivation, config_path);
    if (act != kPoolerActivation) throw Error(config_path, "pooler_act", "only the tanh pooler is supported, not '" + act + "'");
    const int64_t out_dim = jsonOptional<int64_t>(config, "pooler_output_size", D, config_path);
    Pooler pooler;
    pooler.weight = src.take(p + "pooler.dense.weight", {out_dim, D}).contiguous();
    pooler.bias = src.take(p + "pooler.dense.bias", {out_dim}).contiguous();
    out.pooler = std::move(pooler);
  }
  src.checkAllUsed();
  if (with_head) addImageNetNamesIfMissing(cfg, out.notes);

  out.model = buildModel(cfg, std::move(sd), weight_path);
  out.format = with_head ? "hf-vit-classifier" : "hf-vit-model";
  out.source = folder;
  out.name = dir.filename().string();
  if (!with_head)
    out.notes.push_back(std::string("no classifier: the output is the pre-logits (CLS after the final LayerNorm)") +
                        (out.pooler ? "; the tanh pooler is available as pooler_output" : ""));
  out.preprocess = hfPreprocess(folder, cfg, defaultPreprocess(cfg), out.notes);
  return out;
}

std::string hfVitIncompatibility(const ViTConfig& c) {
  if (c.normalization == Normalization::None) return "it has no LayerNorm, and Hugging Face ViT always normalises";
  if (c.legacy_post_ln) return "its blocks are post-LN (the early ViT-Prisma mice); Hugging Face ViT is pre-LN";
  if (c.mlp_hidden_norm) return "it normalises the MLP's hidden layer, which Hugging Face ViT does not";
  if (c.attn_only) return "it is attention-only; Hugging Face ViT blocks always have an MLP";
  if (c.ln_pre) return "it has a LayerNorm before block 0 (CLIP's pre_layrnorm), which Hugging Face ViT lacks (timm's pre_norm has it)";
  if (!c.cls_token || c.pooling != Pooling::Cls) return "it pools by mean; Hugging Face ViT classifies the CLS token";
  if (c.normalize_output) return "it L2-normalises its output, which Hugging Face ViT does not";
  if (c.n_heads * c.d_head != c.d_model) return "n_heads x d_head differs from d_model";
  return "";
}

nlohmann::json hfVitConfigJson(const ViTConfig& c, bool with_pooler) {
  const bool head = c.n_classes > 0;
  nlohmann::json j = {{"architectures", {head ? "ViTForImageClassification" : "ViTModel"}},
                      {"model_type", "vit"},
                      {"hidden_size", c.d_model},
                      {"num_hidden_layers", c.n_layers},
                      {"num_attention_heads", c.n_heads},
                      {"intermediate_size", c.d_mlp},
                      {"hidden_act", hfActivationName(c.activation)},
                      {"hidden_dropout_prob", 0.0},
                      {"attention_probs_dropout_prob", 0.0},
                      {"initializer_range", kHfInitializerRange},
                      {"layer_norm_eps", c.eps},
                      {"image_size", c.image_size},
                      {"patch_size", c.patch_size},
                      {"num_channels", c.n_channels},
                      {"qkv_bias", c.qkv_bias},
                      {"encoder_stride", c.patch_size},
                      {"torch_dtype", "float32"}};
  if (with_pooler) {
    j["pooler_act"] = kPoolerActivation;
    j["pooler_output_size"] = c.d_model;
  }
  if (head) {
    nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
    for (int i = 0; i < c.n_classes; ++i) {
      const std::string name = c.class_names.empty() ? "LABEL_" + std::to_string(i) : c.class_names[i];
      id2label[std::to_string(i)] = name;
      label2id[name] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  return j;
}

StateDict hfVitStateDict(const HookedViTImpl& m, const std::optional<Pooler>& pooler) {
  const ViTConfig& c = m.cfg();
  if (const std::string why = hfVitIncompatibility(c); !why.empty()) throw Error("export", "hf", why);
  torch::NoGradGuard no_grad;
  const ExportedWeights ours(m);
  auto get = [&](const std::string& name) { return ours.get(name); };
  auto lnW = [&](const std::string& ln) { return ours.lnWeight(ln); };
  auto lnB = [&](const std::string& ln) { return ours.lnBias(ln); };
  const std::string p = c.n_classes > 0 ? "vit." : "";
  StateDict sd;
  sd[p + "embeddings.cls_token"] = get("cls_token");
  sd[p + "embeddings.position_embeddings"] = get("pos_embed.W_pos").unsqueeze(0);
  sd[p + "embeddings.patch_embeddings.projection.weight"] = get("embed.proj.weight");
  sd[p + "embeddings.patch_embeddings.projection.bias"] = ours.getOrZeros("embed.proj.bias");
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string hk = blockPrefix(l);
    const std::string hf = p + "encoder.layer." + std::to_string(l) + ".";
    sd[hf + "layernorm_before.weight"] = lnW(hk + "ln1");
    sd[hf + "layernorm_before.bias"] = lnB(hk + "ln1");
    for (const auto& [which, name] : {std::pair{"Q", "query"}, {"K", "key"}, {"V", "value"}}) {
      sd[hf + "attention.attention." + name + ".weight"] = linearFromHeadsIn(get(hk + "attn.W_" + which)).contiguous();
      if (c.qkv_bias) sd[hf + "attention.attention." + name + ".bias"] = get(hk + "attn.b_" + which).reshape({-1});
    }
    sd[hf + "attention.output.dense.weight"] = linearFromHeadsOut(get(hk + "attn.W_O")).contiguous();
    sd[hf + "attention.output.dense.bias"] = get(hk + "attn.b_O");
    sd[hf + "layernorm_after.weight"] = lnW(hk + "ln2");
    sd[hf + "layernorm_after.bias"] = lnB(hk + "ln2");
    sd[hf + "intermediate.dense.weight"] = get(hk + "mlp.W_in").t().contiguous();
    sd[hf + "intermediate.dense.bias"] = get(hk + "mlp.b_in");
    sd[hf + "output.dense.weight"] = get(hk + "mlp.W_out").t().contiguous();
    sd[hf + "output.dense.bias"] = get(hk + "mlp.b_out");
  }
  sd[p + "layernorm.weight"] = lnW("ln_final");
  sd[p + "layernorm.bias"] = lnB("ln_final");
  if (c.n_classes > 0) {
    sd["classifier.weight"] = get("head.W_H").t().contiguous();
    sd["classifier.bias"] = get("head.b_H");
  } else if (pooler) {
    sd["pooler.dense.weight"] = pooler->weight;
    sd["pooler.dense.bias"] = pooler->bias;
  }
  return sd;
}

}  // namespace prisma::io
