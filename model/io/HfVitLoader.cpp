#include "model/io/HfVitLoader.h"

#include "model/Error.h"
#include "model/io/SafeTensors.h"
#include "model/io/StateDict.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

// Hugging Face's image processors name PIL resampling filters by number.
constexpr int kPilBicubic = 3;
constexpr int kPilNearest = 0;

template <typename T>
T required(const nlohmann::json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) throw Error(source, key, "missing");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(source, key, "has the wrong type (" + std::string(it->type_name()) + ")");
  }
}

Activation activationFromHf(const std::string& name, const std::string& source) {
  if (name == "gelu") return Activation::GeluErf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::GeluTanh;
  if (name == "quick_gelu") return Activation::QuickGelu;
  if (name == "relu") return Activation::Relu;
  throw Error(source, "hidden_act", "unsupported activation '" + name + "'");
}

// Reads tensors by their file names, checks each shape against what config.json implies
// and remembers which names were used, so leftovers can be reported as unexpected.
class TensorSource {
public:
  TensorSource(const SafeTensorsFile& file, std::string config_path)
      : file_(file), config_path_(std::move(config_path)) {}

  torch::Tensor take(const std::string& name, const std::vector<int64_t>& shape) {
    if (!file_.contains(name)) throw Error(file_.path(), name, "missing tensor");
    const auto& e = file_.entry(name);
    if (e.shape != shape)
      throw Error(file_.path(), name, "has shape " + shapeString(e.shape) + " but " + config_path_ +
                                          " implies " + shapeString(shape));
    used_.insert(name);
    return file_.float_tensor(name);
  }

  void check_all_used() const {
    for (const auto& name : file_.names())
      if (!used_.count(name)) throw Error(file_.path(), name, "unexpected tensor for this architecture");
  }

private:
  const SafeTensorsFile& file_;
  std::string config_path_;
  std::set<std::string> used_;
};

datasets::Preprocess readProcessorConfig(const fs::path& folder, const ViTConfig& cfg,
                                         std::vector<std::string>& notes) {
  datasets::Preprocess pre = defaultPreprocess(cfg);
  const fs::path path = folder / "preprocessor_config.json";
  if (!fs::exists(path)) {
    notes.push_back("no preprocessor_config.json: resize to " + std::to_string(cfg.image_size) +
                    ", bilinear, mean = std = 0.5 (ViTImageProcessor's defaults)");
    return pre;
  }
  const std::string source = path.string();
  nlohmann::json j;
  try {
    std::ifstream in(path);
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source, "", std::string("is not valid JSON: ") + e.what());
  }
  if (auto it = j.find("image_mean"); it != j.end() && it->is_array())
    pre.mean = it->get<std::vector<float>>();
  if (auto it = j.find("image_std"); it != j.end() && it->is_array())
    pre.std = it->get<std::vector<float>>();
  if (auto it = j.find("size"); it != j.end()) {
    if (it->is_number_integer()) pre.height = pre.width = it->get<int>();
    else if (it->is_object() && it->contains("height")) {
      pre.height = it->at("height").get<int>();
      pre.width = it->at("width").get<int>();
    }
  }
  if (auto it = j.find("resample"); it != j.end() && it->is_number_integer()) {
    const int r = it->get<int>();
    pre.interpolation = r == kPilBicubic ? datasets::Interpolation::Bicubic
                        : r == kPilNearest ? datasets::Interpolation::Nearest
                                           : datasets::Interpolation::Bilinear;
  }
  if (pre.mean.size() != static_cast<size_t>(cfg.n_channels) || pre.std.size() != pre.mean.size())
    throw Error(source, "image_mean", "needs one value per channel");
  return pre;
}

}  // namespace

bool isHfVitClassifier(const nlohmann::json& config) {
  if (config.value("model_type", std::string()) != "vit") return false;
  auto arch = config.find("architectures");
  if (arch == config.end() || !arch->is_array()) return false;
  for (const auto& a : *arch)
    if (a.is_string() && a.get<std::string>() == "ViTForImageClassification") return true;
  return false;
}

ViTConfig hfVitConfig(const nlohmann::json& j, const std::string& source) {
  ViTConfig c;
  c.image_size = required<int>(j, "image_size", source);
  c.patch_size = required<int>(j, "patch_size", source);
  c.n_channels = j.value("num_channels", 3);
  c.d_model = required<int>(j, "hidden_size", source);
  c.n_heads = required<int>(j, "num_attention_heads", source);
  if (c.n_heads <= 0 || c.d_model % c.n_heads != 0)
    throw Error(source, "num_attention_heads",
                std::to_string(c.n_heads) + " heads do not divide hidden_size " + std::to_string(c.d_model));
  c.d_head = c.d_model / c.n_heads;
  c.d_mlp = required<int>(j, "intermediate_size", source);
  c.n_layers = required<int>(j, "num_hidden_layers", source);
  c.activation = activationFromHf(j.value("hidden_act", std::string("gelu")), source);
  c.eps = j.value("layer_norm_eps", 1e-12);
  c.normalization = Normalization::LN;
  c.qkv_bias = j.value("qkv_bias", true);
  c.patch_bias = true;
  c.cls_token = true;
  c.pooling = Pooling::Cls;
  if (auto it = j.find("id2label"); it != j.end() && it->is_object() && !it->empty()) {
    std::vector<std::string> names(it->size());
    for (auto e = it->begin(); e != it->end(); ++e) {
      size_t idx = 0;
      try {
        idx = std::stoul(e.key());
      } catch (const std::exception&) {
        throw Error(source, "id2label", "key '" + e.key() + "' is not a class index");
      }
      if (idx >= names.size()) throw Error(source, "id2label", "class index " + e.key() + " out of range");
      names[idx] = e.value().is_string() ? e.value().get<std::string>() : e.value().dump();
    }
    c.class_names = names;
    c.n_classes = static_cast<int>(names.size());
  } else {
    c.n_classes = required<int>(j, "num_labels", source);
  }
  c.validate(source);
  return c;
}

LoadedModel loadHfVitClassifier(const std::string& folder, const nlohmann::json& config) {
  const fs::path dir(folder);
  const std::string config_path = (dir / "config.json").string();
  const ViTConfig cfg = hfVitConfig(config, config_path);
  const fs::path weights = dir / "model.safetensors";
  if (!fs::exists(weights))
    throw Error(weights.string(), "", "missing (this loader reads model.safetensors)");
  SafeTensorsFile file(weights.string());
  TensorSource src(file, config_path);

  const int64_t D = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head, M = cfg.d_mlp;
  const int64_t C = cfg.n_channels, P = cfg.patch_size, T = cfg.n_tokens();
  StateDict sd;
  const std::string e = "vit.embeddings.";
  sd["cls_token"] = src.take(e + "cls_token", {1, 1, D});
  sd["pos_embed.W_pos"] = src.take(e + "position_embeddings", {1, T, D}).reshape({T, D});
  sd["embed.proj.weight"] = src.take(e + "patch_embeddings.projection.weight", {D, C, P, P});
  sd["embed.proj.bias"] = src.take(e + "patch_embeddings.projection.bias", {D});

  // Linear [H·dh, D] (out, in) -> [H, D, dh]
  auto inProj = [&](const std::string& n) { return src.take(n, {H * dh, D}).t().reshape({D, H, dh}).permute({1, 0, 2}); };
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string hf = "vit.encoder.layer." + std::to_string(l) + ".";
    const std::string hk = "blocks." + std::to_string(l) + ".";
    sd[hk + "ln1.w"] = src.take(hf + "layernorm_before.weight", {D});
    sd[hk + "ln1.b"] = src.take(hf + "layernorm_before.bias", {D});
    sd[hk + "attn.W_Q"] = inProj(hf + "attention.attention.query.weight");
    sd[hk + "attn.W_K"] = inProj(hf + "attention.attention.key.weight");
    sd[hk + "attn.W_V"] = inProj(hf + "attention.attention.value.weight");
    for (const auto& [which, name] : {std::pair{"Q", "query"}, {"K", "key"}, {"V", "value"}}) {
      const std::string bias = hf + "attention.attention." + name + ".bias";
      sd[hk + "attn.b_" + which] =
          (cfg.qkv_bias || file.contains(bias)) ? src.take(bias, {H * dh}).reshape({H, dh}) : torch::zeros({H, dh});
    }
    // Linear [D, H·dh] -> [H, dh, D]
    sd[hk + "attn.W_O"] = src.take(hf + "attention.output.dense.weight", {D, H * dh}).t().reshape({H, dh, D});
    sd[hk + "attn.b_O"] = src.take(hf + "attention.output.dense.bias", {D});
    sd[hk + "ln2.w"] = src.take(hf + "layernorm_after.weight", {D});
    sd[hk + "ln2.b"] = src.take(hf + "layernorm_after.bias", {D});
    sd[hk + "mlp.W_in"] = src.take(hf + "intermediate.dense.weight", {M, D}).t();
    sd[hk + "mlp.b_in"] = src.take(hf + "intermediate.dense.bias", {M});
    sd[hk + "mlp.W_out"] = src.take(hf + "output.dense.weight", {D, M}).t();
    sd[hk + "mlp.b_out"] = src.take(hf + "output.dense.bias", {D});
  }
  sd["ln_final.w"] = src.take("vit.layernorm.weight", {D});
  sd["ln_final.b"] = src.take("vit.layernorm.bias", {D});
  sd["head.W_H"] = src.take("classifier.weight", {cfg.n_classes, D}).t();
  sd["head.b_H"] = src.take("classifier.bias", {cfg.n_classes});
  src.check_all_used();

  LoadedModel out;
  out.model = HookedViT(cfg);
  loadStateDict(*out.model, sd, weights.string());
  out.model->eval();
  out.format = "hf-vit-classifier";
  out.source = folder;
  out.name = dir.filename().string();
  out.preprocess = readProcessorConfig(dir, cfg, out.notes);
  return out;
}

}  // namespace prisma::io
