#include "model/io/ModelLoader.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/io/HfVitLoader.h"
#include "model/io/SafeTensors.h"
#include "model/io/StateDict.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

constexpr const char* kNativeFormat = "prisma-hookedvit";
constexpr int kNativeFormatVersion = 1;

nlohmann::json readJson(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string(), "", "cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string(), "", std::string("is not valid JSON: ") + e.what());
  }
}

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
  try {
    p.height = j.value("height", p.height);
    p.width = j.value("width", p.width);
    p.channels = j.value("channels", p.channels);
    p.interpolation = datasets::interpolationFromString(j.value("interpolation", std::string("bilinear")));
    p.mean = j.value("mean", p.mean);
    p.std = j.value("std", p.std);
  } catch (const std::exception& e) {
    throw Error(source, "preprocess", e.what());
  }
  if (p.height <= 0 || p.width <= 0) throw Error(source, "preprocess.height", "must be positive");
  if (p.channels != cfg.n_channels)
    throw Error(source, "preprocess.channels", "disagrees with the model's n_channels");
  if (p.mean.size() != static_cast<size_t>(p.channels) || p.std.size() != p.mean.size())
    throw Error(source, "preprocess.mean", "needs one value per channel");
  for (float s : p.std)
    if (!(s > 0.0f)) throw Error(source, "preprocess.std", "must be positive");
  return p;
}

LoadedModel loadNative(const fs::path& dir, const nlohmann::json& j) {
  const std::string config_path = (dir / "config.json").string();
  const int version = j.value("format_version", 0);
  if (version != kNativeFormatVersion)
    throw Error(config_path, "format_version", "unsupported version " + std::to_string(version));
  if (!j.contains("config")) throw Error(config_path, "config", "missing");
  const ViTConfig cfg = configFromJson(j.at("config"), config_path);
  const fs::path weights = dir / "model.safetensors";
  SafeTensorsFile file(weights.string());
  StateDict sd;
  for (const auto& name : file.names()) sd[name] = file.float_tensor(name);

  LoadedModel out;
  out.model = HookedViT(cfg);
  loadStateDict(*out.model, sd, weights.string());
  out.model->eval();
  out.format = "prisma";
  out.source = dir.string();
  out.name = j.value("name", dir.filename().string());
  out.preprocess = preprocessFromJson(j.value("preprocess", nlohmann::json()), cfg, config_path);
  return out;
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

LoadedModel loadModel(const std::string& path) {
  fs::path p(path);
  if (!fs::exists(p)) throw Error(path, "", "no such file or folder");
  // A weight file inside a model folder stands for the folder.
  if (fs::is_regular_file(p) && fs::exists(p.parent_path() / "config.json")) p = p.parent_path();
  if (!fs::is_directory(p))
    throw Error(path, "", "not a model folder (expected config.json beside the weights)");
  const fs::path config_path = p / "config.json";
  if (!fs::exists(config_path)) throw Error(config_path.string(), "", "missing");
  const nlohmann::json j = readJson(config_path);
  if (!j.is_object()) throw Error(config_path.string(), "", "is not a JSON object");

  if (j.value("format", std::string()) == kNativeFormat) return loadNative(p, j);
  if (isHfVitClassifier(j)) return loadHfVitClassifier(p.string(), j);
  throw Error(config_path.string(), "model_type",
              "unrecognised model (model_type '" + j.value("model_type", std::string("?")) +
                  "'); supported: Prisma folders, Hugging Face ViTForImageClassification");
}

void saveModel(const LoadedModel& m, const std::string& dir) {
  fs::create_directories(dir);
  const fs::path d(dir);
  writeSafeTensors((d / "model.safetensors").string(), stateDict(*m.model), {{"format", "pt"}});
  nlohmann::json j = {{"format", kNativeFormat},
                      {"format_version", kNativeFormatVersion},
                      {"name", m.name},
                      {"config", m.model->cfg()},
                      {"preprocess", preprocessToJson(m.preprocess)}};
  writeTextAtomically((d / "config.json").string(), j.dump(2) + "\n");
}

}  // namespace prisma::io
