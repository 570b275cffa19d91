// Shared converter plumbing (see LoaderSupport.h).

#include "model/io/LoaderSupport.h"

#include "model/io/ImageNetClasses.h"
#include "model/io/ModelLoader.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <regex>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {
// PIL resampling filters by number, as Hugging Face image processors store them.
constexpr int kPilNearest = 0;
constexpr int kPilBilinear = 2;
constexpr int kPilBicubic = 3;
constexpr int64_t kMaxGridCells = int64_t(1) << 24;  // a 4096 x 4096 patch grid
constexpr int64_t kMaxImageSide = int64_t(1) << 16;
}  // namespace

nlohmann::json readJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path, "", fs::exists(path) ? "cannot open" : "missing");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, "", std::string("is not valid JSON: ") + e.what());
  }
}

std::string jsonString(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

torch::Tensor headsIn(const torch::Tensor& w, int64_t heads, int64_t d_head) {
  return w.t().reshape({w.size(1), heads, d_head}).permute({1, 0, 2});
}

torch::Tensor headsOut(const torch::Tensor& w, int64_t heads, int64_t d_head) {
  return w.t().reshape({heads, d_head, w.size(0)});
}

torch::Tensor linearFromHeadsIn(const torch::Tensor& W) {
  return W.permute({0, 2, 1}).reshape({W.size(0) * W.size(2), W.size(1)});
}

torch::Tensor linearFromHeadsOut(const torch::Tensor& W_O) {
  return W_O.reshape({W_O.size(0) * W_O.size(1), W_O.size(2)}).t();
}

Activation activationFromName(const std::string& name, const std::string& source, const std::string& field) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "gelu" || n == "gelu_erf") return Activation::GeluErf;
  if (n == "gelu_new" || n == "gelu_pytorch_tanh" || n == "gelu_fast" || n == "gelu_tanh") return Activation::GeluTanh;
  if (n == "quick_gelu" || n == "quickgelu") return Activation::QuickGelu;
  if (n == "relu") return Activation::Relu;
  throw Error(source, field, "unsupported activation '" + name + "' (gelu, gelu_new, quick_gelu, relu)");
}

ExportedWeights::ExportedWeights(const HookedViTImpl& model) : ours_(stateDict(model)), d_model_(model.cfg().d_model) {}

torch::Tensor ExportedWeights::getOrZeros(const std::string& name) const {
  return has(name) ? get(name) : torch::zeros({d_model_});
}

torch::Tensor ExportedWeights::lnWeight(const std::string& ln) const {
  return has(ln + ".w") ? get(ln + ".w") : torch::ones({d_model_});
}

torch::Tensor ExportedWeights::lnBias(const std::string& ln) const { return getOrZeros(ln + ".b"); }

void readHfEncoderSizes(const nlohmann::json& j, const std::string& source, const HfEncoderDefaults& defaults,
                        ViTConfig& c) {
  c.image_size = jsonRequired<int>(j, "image_size", source);
  c.patch_size = jsonRequired<int>(j, "patch_size", source);
  c.n_channels = jsonOptional(j, "num_channels", 3, source);
  c.d_model = jsonRequired<int>(j, "hidden_size", source);
  c.n_heads = jsonRequired<int>(j, "num_attention_heads", source);
  if (c.n_heads <= 0 || c.d_model % c.n_heads != 0)
    throw Error(source, "num_attention_heads",
                std::to_string(c.n_heads) + " heads do not divide hidden_size " + std::to_string(c.d_model));
  c.d_head = c.d_model / c.n_heads;
  c.d_mlp = jsonRequired<int>(j, "intermediate_size", source);
  c.n_layers = jsonRequired<int>(j, "num_hidden_layers", source);
  c.activation = activationFromName(jsonOptional<std::string>(j, "hidden_act", defaults.hidden_act, source), source,
                                    "hidden_act");
  c.eps = jsonOptional(j, "layer_norm_eps", defaults.layer_norm_eps, source);
}

HookedViT buildModel(const ViTConfig& cfg, StateDict weights, const std::string& source) {
  // A config far larger than its weights would allocate before loadStateDict could say
  // which tensor is wrong: refuse it up front.
  int64_t held = 0;
  for (const auto& [name, t] : weights) held += t.numel();
  if (cfg.parameter_count() > held)
    throw Error(source, "", "the config implies " + std::to_string(cfg.parameter_count()) +
                                " parameters but the weights hold " + std::to_string(held) + ": they disagree");
  HookedViT model(cfg);
  loadStateDict(*model, std::move(weights), source);
  model->eval();
  return model;
}

void addImageNetNamesIfMissing(ViTConfig& cfg, std::vector<std::string>& notes) {
  if (cfg.n_classes != kImageNetClassCount || !lacksClassNames(cfg.class_names)) return;
  cfg.class_names = imageNetClassNames();
  notes.push_back("1000 classes without names: using the ImageNet-1k class names");
}

datasets::Preprocess hfPreprocess(const std::string& folder, const ViTConfig& cfg, datasets::Preprocess pre,
                                  std::vector<std::string>& notes) {
  const fs::path path = fs::path(folder) / "preprocessor_config.json";
  if (!fs::exists(path)) {
    notes.push_back("no preprocessor_config.json: resize to " + std::to_string(pre.width) + "x" +
                    std::to_string(pre.height) + ", " + datasets::toString(pre.interpolation) +
                    ", the family's default mean/std");
    return pre;
  }
  const std::string source = path.string();
  const nlohmann::json j = readJsonFile(source);
  if (!j.is_object()) throw Error(source, "", "is not a JSON object");
  pre.mean = jsonOptional(j, "image_mean", pre.mean, source);
  pre.std = jsonOptional(j, "image_std", pre.std, source);
  if (!jsonOptional(j, "do_normalize", true, source)) {
    pre.mean.assign(cfg.n_channels, 0.0f);
    pre.std.assign(cfg.n_channels, 1.0f);
  }
  auto readSize = [&](const nlohmann::json& s, const char* field, int& h, int& w) {
    if (s.is_number_integer()) h = w = s.get<int>();
    else if (s.is_object() && s.contains("height") && s.contains("width")) {
      h = jsonRequired<int>(s, "height", source);
      w = jsonRequired<int>(s, "width", source);
    } else if (s.is_object() && s.contains("shortest_edge")) {
      h = w = jsonRequired<int>(s, "shortest_edge", source);
    } else {
      throw Error(source, field, "is neither a number nor {height, width} nor {shortest_edge}");
    }
  };
  if (auto it = j.find("size"); it != j.end() && !it->is_null()) readSize(*it, "size", pre.height, pre.width);
  if (jsonOptional(j, "do_center_crop", false, source)) {
    if (auto it = j.find("crop_size"); it != j.end() && !it->is_null()) {
      readSize(*it, "crop_size", pre.height, pre.width);
      notes.push_back("the processor resizes then centre-crops; here the image is resized to the crop size directly");
    }
  }
  if (auto it = j.find("resample"); it != j.end() && it->is_number_integer()) {
    const int r = it->get<int>();
    pre.interpolation = r == kPilBicubic ? datasets::Interpolation::Bicubic
                        : r == kPilNearest ? datasets::Interpolation::Nearest
                                           : datasets::Interpolation::Bilinear;
    if (r != kPilNearest && r != kPilBilinear && r != kPilBicubic)
      notes.push_back("PIL resample filter " + std::to_string(r) + " approximated by bilinear");
  }
  if (pre.height <= 0 || pre.width <= 0) throw Error(source, "size", "must be positive");
  if (pre.mean.size() != static_cast<size_t>(cfg.n_channels) || pre.std.size() != pre.mean.size())
    throw Error(source, "image_mean", "needs one value per channel");
  for (float s : pre.std)
    if (!(s > 0.0f)) throw Error(source, "image_std", "must be positive");
  return pre;
}

std::string latestCheckpoint(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  static const std::regex kName(R"(model_(\d+)\.pth?)");
  std::string best;
  long long bestN = -1;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || !std::regex_match(name, m, kName)) continue;
    long long n = -1;
    try {
      n = std::stoll(m[1].str());
    } catch (const std::exception&) {
      continue;  // more digits than a step count has
    }
    if (n > bestN) {
      bestN = n;
      best = e.path().string();
    }
  }
  return best;
}

std::string findWeightFile(const std::string& folder) {
  const fs::path dir(folder);
  for (const char* name : {"model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"})
    if (fs::is_regular_file(dir / name)) return (dir / name).string();
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".safetensors" || ext == ".pth" || ext == ".pt" || ext == ".bin"))
      found.push_back(e.path().string());
  }
  if (found.size() == 1) return found.front();
  const std::string ckpt = latestCheckpoint((dir / "checkpoints").string());
  return ckpt;
}

int squareSide(int64_t n) {
  if (n <= 0 || n > kMaxGridCells) return 0;
  int64_t s = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  return s * s == n ? static_cast<int>(s) : 0;
}

}  // namespace prisma::io

namespace prisma::io {

int inferredImageSize(int64_t n_patches, int patch, const std::string& file, const std::string& tensor) {
  const int side = squareSide(n_patches);
  if (side == 0) throw Error(file, tensor, std::to_string(n_patches) + " patch positions are not a square grid");
  const int64_t size = int64_t(side) * patch;
  if (patch <= 0 || size > kMaxImageSide) throw Error(file, tensor, "implies an implausible image size");
  return static_cast<int>(size);
}

}  // namespace prisma::io
