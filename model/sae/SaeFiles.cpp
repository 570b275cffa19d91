// Reading and writing SAE files; see SaeFiles.h for the layouts and what is refused.

#include "model/vit/HookNames.h"
#include "model/sae/SaeFiles.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/core/MemoryBudget.h"
#include "model/io/AtomicFile.h"
#include "model/io/ResourcePaths.h"
#include "model/io/RestrictedUnpickler.h"
#include "model/io/SafeTensors.h"
#include "model/io/TorchArchive.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>

namespace prisma::sae {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOurConfig = "sae.json";
constexpr const char* kOurWeights = "sae.safetensors";
constexpr const char* kOurFormat = "prisma-sae";
constexpr int kOurVersion = 1;
constexpr const char* kSaeLensConfig = "cfg.json";
constexpr const char* kSaeLensWeights = "sae_weights.safetensors";
constexpr const char* kPrismaConfig = "config.json";
constexpr const char* kWeightNames[] = {"W_enc", "W_dec", "b_enc", "b_dec"};

// A pickled value as JSON: the scalar and container kinds a config holds. Tensors,
// storages and globals have no place in a config.
nlohmann::json pickleToJson(const io::pickle::Value& v, const std::string& source, const std::string& field) {
  using K = io::pickle::Value::Kind;
  switch (v.kind) {
    case K::None: return nullptr;
    case K::Bool: return v.boolean;
    case K::Int: return v.integer;
    case K::Float: return v.real;
    case K::String: return v.text;
    case K::Tuple:
    case K::List: {
      nlohmann::json a = nlohmann::json::array();
      for (size_t i = 0; i < v.items.size(); ++i)
        a.push_back(pickleToJson(*v.items[i], source, field + "[" + std::to_string(i) + "]"));
      return a;
    }
    case K::Dict: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, val] : v.entries) {
        if (k->kind != K::String) throw Error(source, field, "a config key is a " + k->kindName() + ", not a string");
        o[k->text] = pickleToJson(*val, source, field.empty() ? k->text : field + "." + k->text);
      }
      return o;
    }
    default: throw Error(source, field, "a config value is a " + v.kindName() + ", which a config cannot hold");
  }
}

// The four weights, checked against the config's sizes before the SAE is built (a config
// far larger than its file would otherwise allocate what it declares); anything else in
// the dict is an error (a gated SAE's b_gate, a JumpReLU threshold: not this architecture).
void checkWeights(const SaeConfig& c, const std::map<std::string, torch::Tensor>& tensors, const std::string& source) {
  const std::map<std::string, std::vector<int64_t>> shapes = {
      {"W_enc", {c.d_in, c.d_sae}}, {"W_dec", {c.d_sae, c.d_in}}, {"b_enc", {c.d_sae}}, {"b_dec", {c.d_in}}};
  for (const auto& [name, t] : tensors)
    if (!shapes.count(name))
      throw Error(source, name, "unexpected tensor (a standard or TopK SAE holds only W_enc, W_dec, b_enc, b_dec)");
  for (const char* name : kWeightNames) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(source, name, "missing");
    const torch::Tensor& t = it->second;
    if (t.sizes().vec() != shapes.at(name))
      throw Error(source, name, "has shape " + std::string(c10::str(t.sizes())) + ", expected " +
                                    std::string(c10::str(torch::IntArrayRef(shapes.at(name)))));
    if (!t.is_floating_point()) throw Error(source, name, "is not a floating-point tensor");
    if (!torch::isfinite(t).all().item<bool>()) throw Error(source, name, "holds NaN or infinite values");
  }
}

// The weights checkWeights accepted, into the SAE built from the same config.
void setWeights(SparseAutoencoderImpl& sae, const std::map<std::string, torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const char* name : kWeightNames) sae.named_parameters()[name].copy_(tensors.at(name).to(torch::kFloat32));
}

void setKFromKwargs(SaeConfig& c, const nlohmann::json& j, const std::string& kwargs_key, const std::string& source) {
  if (c.activation != Activation::TopK) return;
  auto kw = j.find(kwargs_key);
  if (kw != j.end() && kw->is_object() && kw->contains("k"))
    c.k = jsonRequired<int64_t>(*kw, "k", source);
  else c.k = jsonOptional<int64_t>(j, "k", 0, source);
  if (c.k <= 0 || c.k > c.d_sae) throw Error(source, kwargs_key + ".k", "TopK needs 0 < k <= d_sae");
}

template <typename F>
auto named(const std::string& source, const std::string& field, F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw Error(source, field, e.what());
  }
}

void checkSizes(const SaeConfig& c, const std::string& source) {
  if (c.d_in <= 0) throw Error(source, "d_in", "must be positive");
  if (c.d_sae <= 0) throw Error(source, "d_sae", "must be positive");
  if (!std::isfinite(c.l1_coefficient) || c.l1_coefficient < 0)
    throw Error(source, "l1_coefficient", "must be a finite non-negative number");
  // What the float32 parameters take (W_enc, W_dec, b_enc, b_dec), against --max-memory,
  // before an SAE of this config is built. Doubles: hostile sizes overflow int64.
  const double bytes = (2.0 * double(c.d_in) * double(c.d_sae) + double(c.d_in) + double(c.d_sae)) * sizeof(float);
  checkMemoryBudget(bytes >= double(UINT64_MAX) ? UINT64_MAX : static_cast<uint64_t>(bytes), source, "d_sae",
                    "the parameters of a " + std::to_string(c.d_in) + " x " + std::to_string(c.d_sae) + " SAE");
}

// ViT-Prisma's trainer writes n_images_N.pt (and n_images_N_log_feature_sparsity.pt):
// the checkpoint with the most images is the latest.
std::string latestPrismaCheckpoint(const std::string& dir) {
  static const std::regex name(R"(n_images_(\d+)\.pt)");
  std::string best;
  long long best_n = -1;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string file = e.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    const long long n = std::stoll(m[1].str());
    if (n > best_n) best_n = n, best = e.path().string();
  }
  return best;
}

LoadedSae loadPrismaPt(const std::string& pt, const std::string& config_json) {
  LoadedSae out;
  out.format = "vit-prisma";
  out.source = pt;
  io::TorchArchive archive(pt, {kPrismaSaeConfigClass});
  const io::pickle::Value& root = archive.root();
  const io::pickle::Value* state = &root;
  nlohmann::json cfg;
  std::string cfg_source;
  if (root.isDict() && root.find("state_dict") && root.find("cfg")) {
    const io::pickle::Value& c = *root.find("cfg");
    if (c.kind != io::pickle::Value::Kind::Dict || c.object_class != kPrismaSaeConfigClass)
      throw Error(pt, "cfg", "is a " + c.kindName() + ", not a " + kPrismaSaeConfigClass);
    cfg = pickleToJson(c, pt, "cfg");
    cfg_source = pt + " (cfg)";
    state = root.find("state_dict");
    if (!config_json.empty()) out.notes.push_back("config from the checkpoint's pickled cfg; " + config_json + " not used");
  } else {
    if (config_json.empty())
      throw Error(pt, "cfg", "a bare state dict needs the config.json ViT-Prisma writes beside it");
    cfg = readJsonFile(config_json);
    cfg_source = config_json;
    out.notes.push_back("config from " + config_json);
  }
  SaeConfig c = saeConfigFromPrisma(cfg, cfg_source, out.notes);
  const std::map<std::string, torch::Tensor> tensors = archive.tensors(*state);
  checkWeights(c, tensors, pt);
  out.sae = SparseAutoencoder(c);
  setWeights(*out.sae, tensors);
  return out;
}

LoadedSae loadSafetensorsSae(const std::string& weights, const std::string& config, bool saelens) {
  LoadedSae out;
  out.format = saelens ? "saelens" : "prisma";
  out.source = weights;
  const nlohmann::json j = readJsonFile(config);
  SaeConfig c = saelens ? saeConfigFromSaeLens(j, config, out.notes) : saeConfigFromJson(j, config);
  if (!saelens) out.training = j.value("training", nlohmann::json());
  io::SafeTensorsFile file(weights);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& name : file.names()) tensors.emplace(name, file.float_tensor(name));
  checkWeights(c, tensors, weights);
  out.sae = SparseAutoencoder(c);
  setWeights(*out.sae, tensors);
  return out;
}

}  // namespace

nlohmann::json saeConfigJson(const SaeConfig& c) {
  nlohmann::json j = {{"format", kOurFormat},
                      {"version", kOurVersion},
                      {"d_in", c.d_in},
                      {"d_sae", c.d_sae},
                      {"activation", activationName(c.activation)},
                      {"normalize_activations", normalizationName(c.normalization)},
                      {"subtract_b_dec", c.subtract_b_dec},
                      {"l1_coefficient", c.l1_coefficient},
                      {"hook_name", c.hook_name},
                      {"model", c.model_name},
                      {"tokens", tokenSelectionName(c.tokens)}};
  if (c.activation == Activation::TopK) j["k"] = c.k;
  return j;
}

SaeConfig saeConfigFromJson(const nlohmann::json& j, const std::string& source) {
  if (jsonOptional<std::string>(j, "format", "", source) != kOurFormat)
    throw Error(source, "format", std::string("is not \"") + kOurFormat + "\"");
  const int version = jsonRequired<int>(j, "version", source);
  if (version != kOurVersion) throw Error(source, "version", std::to_string(version) + " is not supported");
  SaeConfig c;
  c.d_in = jsonRequired<int64_t>(j, "d_in", source);
  c.d_sae = jsonRequired<int64_t>(j, "d_sae", source);
  c.activation = named(source, "activation", [&] { return activationFromName(jsonRequired<std::string>(j, "activation", source)); });
  c.normalization = named(source, "normalize_activations", [&] {
    return normalizationFromName(jsonOptional<std::string>(j, "normalize_activations", "none", source));
  });
  c.subtract_b_dec = jsonOptional<bool>(j, "subtract_b_dec", true, source);
  c.l1_coefficient = jsonOptional<double>(j, "l1_coefficient", 0.0, source);
  c.hook_name = jsonRequired<std::string>(j, "hook_name", source);
  c.model_name = jsonOptional<std::string>(j, "model", "", source);
  c.tokens = named(source, "tokens", [&] { return tokenSelectionFromName(jsonOptional<std::string>(j, "tokens", "all", source)); });
  checkSizes(c, source);
  setKFromKwargs(c, j, "activation_fn_kwargs", source);
  return c;
}

SaeConfig saeConfigFromPrisma(const nlohmann::json& j, const std::string& source, std::vector<std::string>& notes) {
  SaeConfig c;
  const std::string arch = jsonOptional<std::string>(j, "architecture", "standard", source);
  if (arch != "standard")
    throw Error(source, "architecture", "'" + arch + "' SAEs are not supported (standard ReLU or TopK only)");
  if (jsonOptional<bool>(j, "is_transcoder", false, source))
    throw Error(source, "is_transcoder", "transcoders are not supported");
  if (j.contains("hook_point_head_index") && !j["hook_point_head_index"].is_null())
    throw Error(source, "hook_point_head_index", "SAEs on one attention head are not supported");
  c.d_in = jsonRequired<int64_t>(j, "d_in", source);
  if (j.contains("d_sae") && !j["d_sae"].is_null()) c.d_sae = jsonRequired<int64_t>(j, "d_sae", source);
  else {
    if (__builtin_mul_overflow(c.d_in, jsonRequired<int64_t>(j, "expansion_factor", source), &c.d_sae))
      throw Error(source, "expansion_factor", "d_in x expansion_factor does not fit in 64 bits");
    notes.push_back("d_sae = d_in x expansion_factor = " + std::to_string(c.d_sae));
  }
  c.activation = named(source, "activation_fn_str", [&] {
    return activationFromName(jsonOptional<std::string>(j, "activation_fn_str", "relu", source));
  });
  c.normalization = named(source, "normalize_activations", [&] {
    return normalizationFromName(jsonOptional<std::string>(j, "normalize_activations", "none", source));
  });
  c.l1_coefficient = jsonOptional<double>(j, "l1_coefficient", 0.0, source);
  c.model_name = jsonOptional<std::string>(j, "model_name", "", source);
  if (j.contains("hook_point") && j["hook_point"].is_string()) {
    c.hook_name = j["hook_point"].get<std::string>();
  } else {
    // Its __post_init__ builds the name: f"blocks.{hook_point_layer}.{layer_subtype}".
    int layer = 0;
    const auto it = j.find("hook_point_layer");
    if (it != j.end() && it->is_array() && it->size() == 1) layer = jsonRequired<int>(nlohmann::json{{"l", (*it)[0]}}, "l", source);
    else layer = jsonRequired<int>(j, "hook_point_layer", source);
    c.hook_name = hookName(layer, jsonRequired<std::string>(j, "layer_subtype", source));
  }
  const bool cls_only = jsonOptional<bool>(j, "cls_token_only", false, source);
  const bool patches_only = jsonOptional<bool>(j, "use_patches_only", false, source);
  if (cls_only && patches_only) throw Error(source, "cls_token_only", "and use_patches_only are both set");
  c.tokens = cls_only ? TokenSelection::Cls : patches_only ? TokenSelection::Patches : TokenSelection::All;
  checkSizes(c, source);
  setKFromKwargs(c, j, "activation_fn_kwargs", source);
  return c;
}

SaeConfig saeConfigFromSaeLens(const nlohmann::json& j, const std::string& source, std::vector<std::string>& notes) {
  SaeConfig c;
  const std::string arch = jsonOptional<std::string>(j, "architecture", "standard", source);
  if (arch != "standard" && arch != "topk")
    throw Error(source, "architecture", "'" + arch + "' SAEs are not supported (standard ReLU or TopK only)");
  if (j.contains("hook_head_index") && !j["hook_head_index"].is_null())
    throw Error(source, "hook_head_index", "SAEs on one attention head are not supported");
  c.d_in = jsonRequired<int64_t>(j, "d_in", source);
  c.d_sae = jsonRequired<int64_t>(j, "d_sae", source);
  c.hook_name = jsonRequired<std::string>(j, "hook_name", source);
  c.model_name = jsonOptional<std::string>(j, "model_name", "", source);
  c.activation = arch == "topk" ? Activation::TopK : named(source, "activation_fn_str", [&] {
    return activationFromName(jsonOptional<std::string>(j, "activation_fn_str", "relu", source));
  });
  const std::string norm = jsonOptional<std::string>(j, "normalize_activations", "none", source);
  if (norm == "expected_average_only_in")
    throw Error(source, "normalize_activations", "'expected_average_only_in' needs a dataset-wide scaling factor the file does not hold");
  c.normalization = named(source, "normalize_activations", [&] { return normalizationFromName(norm); });
  c.subtract_b_dec = jsonOptional<bool>(j, "apply_b_dec_to_input", true, source);
  if (!c.subtract_b_dec) notes.push_back("apply_b_dec_to_input is false: b_dec is not subtracted from the input");
  c.l1_coefficient = jsonOptional<double>(j, "l1_coefficient", 0.0, source);
  checkSizes(c, source);
  setKFromKwargs(c, j, "activation_fn_kwargs", source);
  return c;
}

bool isBundledSaeName(const std::string& spec) { return spec.rfind(kBundledSaePrefix, 0) == 0; }

std::vector<std::string> listBundledSaes() {
  std::error_code ec;
  for (const auto& root : io::resourceDirectories()) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(fs::path(root) / kBundledSaeFolder, ec))
      if (const std::string name = e.path().filename().string();
          name.front() != '.' && fs::is_regular_file(e.path() / kOurConfig, ec))
        out.push_back(name);
    if (!out.empty()) {
      std::sort(out.begin(), out.end());
      return out;
    }
  }
  return {};
}

std::string resolveSaePath(const std::string& spec) {
  if (!isBundledSaeName(spec)) return spec;
  const std::string name = spec.substr(std::string(kBundledSaePrefix).size());
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw Error(spec, "", "not a bundled SAE name (expected sae:NAME, e.g. sae:induction-2L)");
  const std::string dir = io::findResource(std::string(kBundledSaeFolder) + "/" + name);
  std::error_code ec;
  if (!dir.empty() && fs::is_regular_file(fs::path(dir) / kOurConfig, ec)) return dir;
  std::string list;
  for (const auto& n : listBundledSaes()) list += (list.empty() ? "" : ", ") + n;
  throw Error(spec, "", "no such bundled SAE (bundled: " + (list.empty() ? std::string("none") : list) + ")");
}

LoadedSae loadSae(const std::string& spec) {
  const std::string path = resolveSaePath(spec);
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path, "", "no such file or folder");
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    LoadedSae out;
    if (fs::exists(dir / kOurConfig)) {
      out = loadSafetensorsSae((dir / kOurWeights).string(), (dir / kOurConfig).string(), false);
    } else if (fs::exists(dir / kSaeLensConfig) && fs::exists(dir / kSaeLensWeights)) {
      out = loadSafetensorsSae((dir / kSaeLensWeights).string(), (dir / kSaeLensConfig).string(), true);
    } else {
      const std::string pt = latestPrismaCheckpoint(path);
      if (pt.empty())
        throw Error(path, "", "not an SAE folder: expected sae.json + sae.safetensors (ours), cfg.json + "
                              "sae_weights.safetensors (SAELens) or config.json + n_images_N.pt (ViT-Prisma)");
      const fs::path config = dir / kPrismaConfig;
      out = loadPrismaPt(pt, fs::exists(config) ? config.string() : "");
    }
    out.source = path;
    return out;
  }
  const fs::path file(path);
  const fs::path dir = file.parent_path();
  if (file.extension() == ".pt" || file.extension() == ".pth") {
    const fs::path config = dir / kPrismaConfig;
    return loadPrismaPt(path, fs::exists(config) ? config.string() : "");
  }
  if (file.extension() == ".safetensors") {
    if (fs::exists(dir / kOurConfig)) return loadSafetensorsSae(path, (dir / kOurConfig).string(), false);
    if (fs::exists(dir / kSaeLensConfig)) return loadSafetensorsSae(path, (dir / kSaeLensConfig).string(), true);
    throw Error(path, "", "an SAE's safetensors needs sae.json or cfg.json beside it");
  }
  throw Error(path, "", "not an SAE file (a folder, a ViT-Prisma .pt or a .safetensors)");
}

void saveSae(const SparseAutoencoderImpl& sae, const std::string& dir, const nlohmann::json& training) {
  fs::create_directories(dir);
  nlohmann::json j = saeConfigJson(sae.cfg());
  if (!training.is_null()) j["training"] = training;
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : sae.named_parameters()) tensors.emplace(p.key(), p.value().detach().contiguous());
  io::writeSafeTensors((fs::path(dir) / kOurWeights).string(), tensors,
                       {{"format", kOurFormat}, {"hook_name", sae.cfg().hook_name}, {"model", sae.cfg().model_name}});
  io::writeTextAtomically((fs::path(dir) / kOurConfig).string(), j.dump(2) + "\n");
}

}  // namespace prisma::sae
