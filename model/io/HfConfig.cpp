// Hugging Face config and image-processor fields (see HfConfig.h).

#include "model/io/HfConfig.h"

#include "model/core/Json.h"
#include "model/io/ConvertedModel.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {
// PIL resampling filters by number, as Hugging Face image processors store them.
constexpr int kPilNearest = 0;
constexpr int kPilBilinear = 2;
constexpr int kPilBicubic = 3;
}  // namespace

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
  if (const std::string problem = datasets::inputSizeProblem(pre.height, pre.width); !problem.empty())
    throw Error(source, "size", problem);
  if (pre.mean.size() != static_cast<size_t>(cfg.n_channels) || pre.std.size() != pre.mean.size())
    throw Error(source, "image_mean", "needs one value per channel");
  for (float s : pre.std)
    if (!(s > 0.0f)) throw Error(source, "image_std", "must be positive");
  return pre;
}

}  // namespace prisma::io
