#include "model/io/ModelLoader.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/io/ClipVisionLoader.h"
#include "model/io/DinoV2Loader.h"
#include "model/io/HfVitLoader.h"
#include "model/core/Json.h"
#include "model/io/ConvertedModel.h"
#include "model/io/ModelFolder.h"
#include "model/io/ModelCard.h"
#include "model/io/OpenClipLoader.h"
#include "model/io/NonFinite.h"
#include "model/io/ResourcePaths.h"
#include "model/io/SafeTensors.h"
#include "model/vit/StateDict.h"
#include "model/io/TimmLoader.h"
#include "model/io/VitPrismaLoader.h"
#include "model/io/WeightFile.h"
#include "model/io/WeightStorage.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

constexpr const char* kNativeFormat = "prisma-hookedvit";
constexpr int kNativeFormatVersion = 1;
// The HF ViTModel pooler rides along in model.safetensors under its Hugging Face names.
constexpr const char* kPoolerWeight = "pooler.dense.weight";
constexpr const char* kPoolerBias = "pooler.dense.bias";
constexpr size_t kListedNames = 5;  // weight names quoted in an "unrecognised" error

nlohmann::json preprocessToJson(const datasets::Preprocess& p) {
  return {{"height", p.height},
          {"width", p.width},
          {"channels", p.channels},
          {"interpolation", datasets::toString(p.interpolation)},
          {"mean", p.mean},
          {"std", p.std}};
}

datasets::Preprocess preprocessFromJson(const nlohmann::json& j, const ViTConfig& cfg,
                                        const std::string& source) {
  datasets::Preprocess p = defaultPreprocess(cfg);
  if (!j.is_object()) return p;
  p.height = jsonOptional(j, "height", p.height, source);
  p.width = jsonOptional(j, "width", p.width, source);
  if (const std::string problem = datasets::inputSizeProblem(p.height, p.width); !problem.empty())
    throw Error(source, "preprocess.height", problem);
  p.channels = jsonOptional(j, "channels", p.channels, source);
  try {
    p.interpolation = datasets::interpolationFromString(jsonOptional<std::string>(j, "interpolation", "bilinear", source));
  } catch (const std::invalid_argument& e) {
    throw Error(source, "preprocess.interpolation", e.what());
  }
  p.mean = jsonOptional(j, "mean", p.mean, source);
  p.std = jsonOptional(j, "std", p.std, source);
  if (p.height <= 0 || p.width <= 0) throw Error(source, "preprocess.height", "must be positive");
  if (p.channels != cfg.n_channels)
    throw Error(source, "preprocess.channels", "disagrees with the model's n_channels");
  if (p.mean.size() != static_cast<size_t>(p.channels) || p.std.size() != p.mean.size())
    throw Error(source, "preprocess.mean", "needs one value per channel");
  for (float s : p.std)
    if (!(s > 0.0f)) throw Error(source, "preprocess.std", "must be positive");
  return p;
}

// Before qkv_bias false meant "no such parameters", a model without them still held
// b_Q/b_K/b_V, and training trained them. Zero ones are dropped; trained ones are kept,
// with qkv_bias on, so the model computes what it was trained to.
void keepOrDropOldQkvBiases(ViTConfig& cfg, StateDict& sd, std::vector<std::string>& notes) {
  if (cfg.qkv_bias) return;
  auto isQkvBias = [](const std::string& name) {
    for (const char* leaf : {".attn.b_Q", ".attn.b_K", ".attn.b_V"}) {
      const std::string l = leaf;
      if (name.size() > l.size() && name.compare(name.size() - l.size(), l.size(), l) == 0) return true;
    }
    return false;
  };
  bool found = false, trained = false;
  for (const auto& [name, t] : sd)
    if (isQkvBias(name)) {
      found = true;
      trained = trained || t.abs().max().item<double>() != 0.0;
    }
  if (!found) return;
  if (trained) {
    cfg.qkv_bias = true;
    notes.push_back("qkv_bias is false in the config but the weights hold trained query/key/value biases: kept");
    return;
  }
  for (auto it = sd.begin(); it != sd.end();) it = isQkvBias(it->first) ? sd.erase(it) : std::next(it);
}

LoadedModel loadNative(const fs::path& dir, const nlohmann::json& j) {
  const std::string config_path = (dir / "config.json").string();
  const int version = jsonOptional(j, "format_version", 0, config_path);
  if (version != kNativeFormatVersion)
    throw Error(config_path, "format_version", "unsupported version " + std::to_string(version));
  if (!j.contains("config")) throw Error(config_path, "config", "missing");
  ViTConfig cfg = configFromJson(j.at("config"), config_path);
  const fs::path weights = dir / "model.safetensors";
  SafeTensorsFile file(weights.string());
  StateDict sd;
  for (const auto& name : weightNames(file)) sd[name] = readFloatWeight(file, name);
  std::vector<std::string> notes;
  keepOrDropOldQkvBiases(cfg, sd, notes);

  LoadedModel out;
  if (sd.count(kPoolerWeight) || sd.count(kPoolerBias)) {
    if (!sd.count(kPoolerWeight) || !sd.count(kPoolerBias))
      throw Error(weights.string(), kPoolerWeight, "the pooler needs both its weight and its bias");
    Pooler pooler{sd.at(kPoolerWeight), sd.at(kPoolerBias)};
    if (pooler.weight.dim() != 2 || pooler.weight.size(1) != cfg.d_model || pooler.bias.dim() != 1 ||
        pooler.bias.size(0) != pooler.weight.size(0))
      throw Error(weights.string(), kPoolerWeight, "has shape " + shapeString(pooler.weight) + ", expected [out, " +
                                                       std::to_string(cfg.d_model) + "]");
    sd.erase(kPoolerWeight);
    sd.erase(kPoolerBias);
    out.pooler = std::move(pooler);
  }
  out.model = buildModel(cfg, std::move(sd), weights.string());
  out.notes = std::move(notes);
  out.format = "prisma";
  out.source = dir.string();
  out.name = jsonOptional(j, "name", dir.filename().string(), config_path);
  out.preprocess = preprocessFromJson(j.value("preprocess", nlohmann::json()), cfg, config_path);
  if (auto prov = j.find("provenance"); prov != j.end() && prov->is_object())
    out.notes.push_back("converted from " + jsonString(*prov, "format") + " (" + jsonString(*prov, "source") + ")");
  if (const WeightStorage storage = storageOf(file); storage != WeightStorage::Float32)
    out.notes.push_back("weights stored as " + toString(storage) + " on disk, float32 in memory");
  const fs::path training = dir / "training.json";
  if (fs::exists(training)) out.training_json = readJsonFile(training.string()).dump(2);
  return out;
}

// A weight file with no config beside it: recognise the family by its tensor names.
LoadedModel loadBareWeights(const fs::path& file, const LoadOptions& options) {
  std::vector<std::string> notes;
  const WeightFile probe = WeightFile::open(file.string(), notes);
  WeightFile stripped = probe;
  stripped.stripPrefix("module.");
  if (hasOpenClipNames(stripped)) return loadOpenClip({"", file.string()}, options);
  if (hasDinoV2Names(stripped)) return loadDinoV2(file.string(), nullptr, "", options);
  if (hasTimmNames(stripped)) return loadTimm(file.string(), nullptr, "", options);
  if (hasHookedVitNames(stripped)) return loadVitPrismaStateDict(file.string(), nullptr, "");
  if (hasLegacyMouseNames(stripped)) return loadLegacyMouse(file.parent_path().string(), nullptr, file.string(), options);
  if (probe.hasPrefix("vit.") || probe.hasPrefix("embeddings.") || probe.hasPrefix("vision_model."))
    throw Error(file.string(), "", "Hugging Face weights need their config.json beside them");
  std::string some;
  const auto names = probe.names();
  for (size_t i = 0; i < names.size() && i < kListedNames; ++i) some += (i ? ", " : "") + names[i];
  throw Error(file.string(), "", "unrecognised weight names (" + some +
                                     (names.size() > kListedNames ? ", ..." : "") +
                                     "): not a timm, ViT-Prisma or legacy-mouse state dict");
}

// A folder with config.json; `weights` is a file the user pointed at inside it ("" = find).
LoadedModel loadFolder(const fs::path& dir, const nlohmann::json& j, const std::string& weights,
                       const LoadOptions& options) {
  const std::string config_path = (dir / "config.json").string();
  if (!j.is_object()) throw Error(config_path, "", "is not a JSON object");
  if (isNativeConfig(j)) return loadNative(dir, j);
  if (isHfClip(j)) return loadHfClipVision(dir.string(), j, weights);
  if (isHfVit(j)) return loadHfVit(dir.string(), j, weights);
  if (isLegacyMouseConfig(j)) return loadLegacyMouse(dir.string(), &j, weights, options);
  if (isDinoV2Config(j)) return loadDinoV2(weights.empty() ? dinoV2Checkpoint(dir.string(), j) : weights, &j, config_path, options);
  const std::string w = weights.empty() ? findWeightFile(dir.string()) : weights;
  if ((isTimmConfig(j) || isVitPrismaConfig(j)) && w.empty())
    throw Error((dir / "model.safetensors").string(), "", "missing: no weight file in the folder");
  if (isTimmConfig(j)) return loadTimm(w, &j, config_path, options);
  if (isVitPrismaConfig(j)) return loadVitPrismaStateDict(w, &j, config_path);
  throw Error(config_path, "model_type",
              "unrecognised model (model_type '" + jsonString(j, "model_type") +
                  "'); supported: Prisma folders, Hugging Face ViT / ViTModel / CLIP vision, timm "
                  "VisionTransformer, ViT-Prisma HookedViT and legacy mice");
}

}  // namespace

datasets::Preprocess defaultPreprocess(const ViTConfig& cfg) {
  datasets::Preprocess p;
  p.height = p.width = cfg.image_size;
  p.channels = cfg.n_channels;
  p.interpolation = datasets::Interpolation::Bilinear;
  p.mean.assign(cfg.n_channels, 0.5f);
  p.std.assign(cfg.n_channels, 0.5f);
  return p;
}

torch::Tensor Pooler::operator()(const torch::Tensor& pre_logits) const {
  return torch::tanh(torch::addmm(bias, pre_logits, weight.t()));
}

bool isNativeConfig(const nlohmann::json& j) { return j.is_object() && jsonString(j, "format") == kNativeFormat; }

static LoadedModel loadAnyFormat(const std::string& path, const LoadOptions& options) {
  // A bundled mouse of the zoo (ResourcePaths.h): its folder in the project's format.
  if (isMouseName(path)) return loadAnyFormat(mouseDirectory(path), options);
  const fs::path p(path);
  if (!fs::exists(p)) throw Error(path, "", "no such file or folder");
  // open_clip's hub layout names its config open_clip_config.json (a folder may also
  // hold a Hugging Face config.json for another library's copy of the weights).
  if (const auto open_clip = findOpenClipFiles(path)) return loadOpenClip(*open_clip, options);
  if (fs::is_regular_file(p)) {
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    // A weight file inside a model folder stands for the folder (read from that file).
    if (fs::exists(dir / "config.json")) return loadFolder(dir, readJsonFile((dir / "config.json").string()), p.string(), options);
    // checkpoints/model_N.pth of a ViT-Prisma run: the config is in the run folder.
    const fs::path run = dir.parent_path();
    if (!run.empty() && fs::exists(run / "config.json")) {
      const nlohmann::json j = readJsonFile((run / "config.json").string());
      if (isLegacyMouseConfig(j)) return loadLegacyMouse(run.string(), &j, p.string(), options);
      if (isVitPrismaConfig(j)) return loadVitPrismaStateDict(p.string(), &j, (run / "config.json").string());
    }
    return loadBareWeights(p, options);
  }
  if (!fs::is_directory(p)) throw Error(path, "", "neither a model folder nor a weight file");
  const fs::path config_path = p / "config.json";
  if (fs::exists(config_path)) return loadFolder(p, readJsonFile(config_path.string()), "", options);
  const std::string weights = findWeightFile(p.string());
  if (weights.empty()) throw Error(config_path.string(), "", "missing, and the folder holds no single weight file");
  return loadBareWeights(weights, options);
}

LoadedModel loadModel(const std::string& path, const LoadOptions& options) {
  LoadedModel m = loadAnyFormat(path, options);
  // Every output of a model with a NaN or Inf weight is NaN: say so where `prisma info`
  // and the explorer's details show it, whatever the format.
  StateDict weights = stateDict(*m.model);
  if (m.pooler) {
    weights[kPoolerWeight] = m.pooler->weight;
    weights[kPoolerBias] = m.pooler->bias;
  }
  if (const auto problem = describeNonFinite(weights, "the weights")) m.notes.push_back("warning: " + *problem);
  return m;
}

void saveModel(const LoadedModel& m, const std::string& dir, WeightStorage storage) {
  fs::create_directories(dir);
  const fs::path d(dir);
  StateDict tensors = stateDict(*m.model);
  if (m.pooler) {
    tensors[kPoolerWeight] = m.pooler->weight;
    tensors[kPoolerBias] = m.pooler->bias;
  }
  writeWeights((d / "model.safetensors").string(), tensors, storage);
  nlohmann::json j = {{"format", kNativeFormat},
                      {"format_version", kNativeFormatVersion},
                      {"name", m.name},
                      {"config", m.model->cfg()},
                      {"preprocess", preprocessToJson(m.preprocess)},
                      {"provenance", {{"format", m.format}, {"source", m.source}, {"notes", m.notes}}}};
  writeTextAtomically((d / "config.json").string(), j.dump(2) + "\n");
  if (!m.training_json.empty()) writeTextAtomically((d / "training.json").string(), m.training_json + "\n");
  writeTextAtomically((d / "README.md").string(), modelCard(m, "prisma"));
}

}  // namespace prisma::io
