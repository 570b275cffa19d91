#pragma once
// What every model-format converter shares: reading JSON configs with errors that name
// the file and the field, nn.Linear <-> per-head weight layouts, activation names,
// Hugging Face image-processor configs, building the HookedViT from converted weights,
// and the folder conventions of training runs.

#include "datasets/Preprocess.h"
#include "model/Error.h"
#include "model/io/StateDict.h"
#include "model/vit/HookedViT.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace prisma::io {

// Parses `path`; throws prisma::Error naming it when it is missing or not JSON.
nlohmann::json readJsonFile(const std::string& path);

namespace detail {
// JSON -> value without nlohmann's unchecked static_casts (undefined for a float like
// 1e300 read as an int or a float): integers must be integers that fit, floats must fit
// a float. False on a wrong type or range.
template <typename T>
bool fromJson(const nlohmann::json& j, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return false;
    out = j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!j.is_number_integer()) return false;
    if (j.is_number_unsigned()) {
      if (j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    } else {
      const int64_t v = j.get<int64_t>();
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) || v > static_cast<int64_t>(std::numeric_limits<T>::max()))
        return false;
    }
    out = j.get<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!j.is_number()) return false;
    const double v = j.get<double>();
    if (!(std::abs(v) <= static_cast<double>(std::numeric_limits<T>::max()))) return false;
    out = static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) return false;
    out = j.get<std::string>();
  } else {  // std::vector<...>
    if (!j.is_array()) return false;
    out.clear();
    for (const auto& e : j) {
      typename T::value_type v{};
      if (!fromJson(e, v)) return false;
      out.push_back(std::move(v));
    }
  }
  return true;
}
}  // namespace detail

template <typename T>
T jsonRequired(const nlohmann::json& j, const std::string& key, const std::string& source) {
  if (!j.is_object()) throw Error(source, key, "missing (the enclosing value is not an object)");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) throw Error(source, key, "missing");
  T out{};
  if (!detail::fromJson(*it, out))
    throw Error(source, key, "has the wrong type or is out of range (" + std::string(it->type_name()) + ")");
  return out;
}

template <typename T>
T jsonOptional(const nlohmann::json& j, const std::string& key, T fallback, const std::string& source) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  T out{};
  if (!detail::fromJson(*it, out))
    throw Error(source, key, "has the wrong type or is out of range (" + std::string(it->type_name()) + ")");
  return out;
}

// The string under `key`, or "" when it is absent or not a string (for detection).
std::string jsonString(const nlohmann::json& j, const std::string& key);

// nn.Linear stores [out, in]; HookedViT stores per-head [head, d_model, d_head] (W_Q/K/V)
// and [head, d_head, d_model] (W_O).
torch::Tensor headsIn(const torch::Tensor& linear_weight, int64_t heads, int64_t d_head);   // [H·dh, D] -> [H, D, dh]
torch::Tensor headsOut(const torch::Tensor& linear_weight, int64_t heads, int64_t d_head);  // [D, H·dh] -> [H, dh, D]
torch::Tensor linearFromHeadsIn(const torch::Tensor& W);    // [H, D, dh] -> [H·dh, D]
torch::Tensor linearFromHeadsOut(const torch::Tensor& W_O);  // [H, dh, D] -> [D, H·dh]

// Activation names as Hugging Face, timm and ViT-Prisma write them.
Activation activationFromName(const std::string& name, const std::string& source, const std::string& field);

// The encoder sizes every Hugging Face vision config names alike (ViTConfig,
// CLIPVisionConfig): image_size, patch_size, num_channels, hidden_size,
// num_attention_heads (dividing hidden_size), intermediate_size, num_hidden_layers,
// hidden_act and layer_norm_eps, whose defaults differ per family.
struct HfEncoderDefaults {
  std::string hidden_act;
  double layer_norm_eps;
};
// A HookedViT's weights as the exporters read them: contiguous tensors by HookedViT name,
// and LayerNorm parameters as a plain LayerNorm's -- an LNPre (folded) LayerNorm, which
// has none, is one with unit weight and zero bias.
class ExportedWeights {
public:
  explicit ExportedWeights(const HookedViTImpl& model);

  bool has(const std::string& name) const { return ours_.count(name) != 0; }
  torch::Tensor get(const std::string& name) const { return ours_.at(name).contiguous(); }
  // `name`, or zeros of width d_model where the model has none (e.g. a bias-free patch embedding).
  torch::Tensor getOrZeros(const std::string& name) const;
  torch::Tensor lnWeight(const std::string& ln) const;  // ln: "blocks.0.ln1", "ln_final", ...
  torch::Tensor lnBias(const std::string& ln) const;

private:
  StateDict ours_;
  int64_t d_model_;
};

void readHfEncoderSizes(const nlohmann::json& j, const std::string& source, const HfEncoderDefaults& defaults,
                        ViTConfig& c);

// The HookedViT for `cfg` with `weights` (HookedViT names) loaded strictly, in eval mode.
// Takes the tensors by value and drops each once copied (see loadStateDict); pass with
// std::move to keep memory-mapped weights from being resident twice.
HookedViT buildModel(const ViTConfig& cfg, StateDict weights, const std::string& source);

// A 1000-class model without names gets ImageNet-1k's, and a note saying so.
void addImageNetNamesIfMissing(ViTConfig& cfg, std::vector<std::string>& notes);

// The image processor of a Hugging Face folder (preprocessor_config.json), starting from
// `fallback`; `notes` records a missing file or a crop the preprocessing cannot express.
datasets::Preprocess hfPreprocess(const std::string& folder, const ViTConfig& cfg,
                                  datasets::Preprocess fallback, std::vector<std::string>& notes);

// `dir`/model_N.pth (or .pt) with the largest N -- how ViT-Prisma's trainer names its
// checkpoints -- or "" when there is none.
std::string latestCheckpoint(const std::string& dir);

// The weight file of a folder: model.safetensors, else pytorch_model.bin, else the one
// .pth/.pt/.bin/.safetensors there; "" when none.
std::string findWeightFile(const std::string& folder);

// Grid side of `n_patches` patches, or 0 when it is not a square (or absurdly large).
int squareSide(int64_t n_patches);

// The image size whose `n_patches` patches of side `patch` a position table implies;
// throws naming `file` and `tensor` when they do not form a plausible square grid.
int inferredImageSize(int64_t n_patches, int patch, const std::string& file, const std::string& tensor);

}  // namespace prisma::io
