#include "model/vit/Config.h"

#include "model/Error.h"
#include "model/core/MemoryBudget.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <type_traits>

namespace prisma {
namespace {

template <typename Enum>
struct EnumName {
  Enum value;
  const char* name;
};

const EnumName<Normalization> kNormalizations[] = {
    {Normalization::LN, "LN"}, {Normalization::LNPre, "LNPre"}, {Normalization::None, "none"}};
const EnumName<Activation> kActivations[] = {{Activation::GeluErf, "gelu"},
                                             {Activation::GeluTanh, "gelu_new"},
                                             {Activation::QuickGelu, "quick_gelu"},
                                             {Activation::Relu, "relu"}};
const EnumName<Pooling> kPoolings[] = {{Pooling::Cls, "cls"}, {Pooling::Mean, "mean"}, {Pooling::Map, "map"}};
const EnumName<PosInterpolation> kPosInterpolations[] = {{PosInterpolation::None, "none"},
                                                         {PosInterpolation::BicubicAntialias, "bicubic_antialias"},
                                                         {PosInterpolation::BicubicOffset, "bicubic_offset"}};
const EnumName<ReturnType> kReturnTypes[] = {{ReturnType::Logits, "logits"},
                                             {ReturnType::PreLogits, "pre_logits"}};

template <typename Enum, size_t N>
std::string nameOf(const EnumName<Enum> (&table)[N], Enum v) {
  for (const auto& e : table)
    if (e.value == v) return e.name;
  return "?";
}

template <typename Enum, size_t N>
Enum valueOf(const EnumName<Enum> (&table)[N], const std::string& name,
             const std::string& source, const std::string& field) {
  std::string options;
  for (const auto& e : table) {
    if (name == e.name) return e.value;
    options += std::string(options.empty() ? "" : ", ") + e.name;
  }
  throw Error(source, field, "unknown value '" + name + "' (expected one of " + options + ")");
}

template <typename T>
void readField(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  // nlohmann's get<int>() static_casts whatever number it finds, which is undefined for
  // 1e300 and silently wraps 2^40: sizes must be integers that fit.
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!it->is_number_integer())
      throw Error(source, key, "has the wrong type (" + std::string(it->type_name()) + ", expected an integer)");
    const bool fits = it->is_number_unsigned() ? it->template get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max())
                                               : it->template get<int64_t>() >= int64_t(std::numeric_limits<T>::min()) &&
                                                     it->template get<int64_t>() <= int64_t(std::numeric_limits<T>::max());
    if (!fits) throw Error(source, key, "is out of range");
  }
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(source, key, "has the wrong type (" + std::string(it->type_name()) + ")");
  }
}

template <typename Enum, size_t N>
void readEnum(const nlohmann::json& j, const char* key, Enum& out,
              const EnumName<Enum> (&table)[N], const std::string& source) {
  std::string name;
  readField(j, key, name, source);
  if (!name.empty()) out = valueOf(table, name, source, key);
}

}  // namespace

std::string toString(Normalization v) { return nameOf(kNormalizations, v); }
std::string toString(Activation v) { return nameOf(kActivations, v); }
std::string toString(Pooling v) { return nameOf(kPoolings, v); }
std::string toString(PosInterpolation v) { return nameOf(kPosInterpolations, v); }
std::string toString(ReturnType v) { return nameOf(kReturnTypes, v); }

void ViTConfig::validate(const std::string& source) const {
  auto positive = [&](int v, const char* field) {
    if (v <= 0) throw Error(source, field, "must be positive, got " + std::to_string(v));
  };
  positive(image_size, "image_size");
  positive(patch_size, "patch_size");
  positive(n_channels, "n_channels");
  positive(d_model, "d_model");
  positive(n_heads, "n_heads");
  positive(d_head, "d_head");
  positive(n_layers, "n_layers");
  // A head-less model (Hugging Face ViTModel, a CLIP tower without projection) has no
  // classes and can only return its pre-logits.
  if (n_classes < 0 || (n_classes == 0 && return_type != ReturnType::PreLogits))
    throw Error(source, "n_classes",
                n_classes == 0 ? "must be positive unless return_type is pre_logits (a model without a head)"
                               : "must be positive, got " + std::to_string(n_classes));
  if (!attn_only) positive(d_mlp, "d_mlp");
  if (image_size % patch_size != 0)
    throw Error(source, "patch_size",
                "patch size " + std::to_string(patch_size) + " does not divide image size " +
                    std::to_string(image_size));
  if (!(eps >= 0.0)) throw Error(source, "eps", "must be non-negative");
  if (normalization != Normalization::None && eps <= 0.0)
    throw Error(source, "eps", "LayerNorm needs eps > 0 (use normalization 'none' for no LayerNorm)");
  if (n_registers < 0) throw Error(source, "n_registers", "must be non-negative");
  if (pooling == Pooling::Map && (attn_only || final_ln_after_pool))
    throw Error(source, "pooling", "the attention-pool head needs an MLP and the final LayerNorm on every token");
  if (pooling == Pooling::Cls && !cls_token)
    throw Error(source, "pooling", "CLS pooling needs a CLS token");
  if (!class_names.empty() && static_cast<int>(class_names.size()) != n_classes)
    throw Error(source, "class_names",
                std::to_string(class_names.size()) + " names for " + std::to_string(n_classes) +
                    " classes");
  // Guard against sizes that would allocate absurd amounts of memory from a hostile file.
  constexpr long long kMaxElements = 4LL << 30;
  const long long biggest = static_cast<long long>(d_model) * std::max(d_mlp, d_model);
  const long long grid = image_size / patch_size;  // n_tokens() would overflow int first
  if (biggest > kMaxElements || grid * grid + 1 > kMaxElements || (grid * grid + 1) * d_model > kMaxElements)
    throw Error(source, "d_model", "sizes are too large to be a real model");
  // What the float32 parameters alone take, against --max-memory, before any allocation.
  const auto params = static_cast<uint64_t>(std::max<int64_t>(parameter_count(), 0));
  checkMemoryBudget(params > UINT64_MAX / sizeof(float) ? UINT64_MAX : params * sizeof(float), source, "d_model",
                    "the " + std::to_string(params) + " parameters this config implies");
}

int64_t ViTConfig::parameter_count() const {
  // Mirrors the modules HookedViT registers (HookedViT.cpp and the layers it builds);
  // tests check the two agree for every fixture. Doubles: a hostile config may overflow.
  const double D = d_model, H = n_heads, dh = d_head, M = d_mlp, C = n_channels, P = patch_size;
  const double ln = has_ln() && has_ln_weights() ? 2.0 : 0.0;  // w and b per LayerNorm width
  const double grid = patch_size > 0 ? double(image_size / patch_size) : 0.0;  // safe before validate()
  const double tokens = grid * grid + (cls_token ? 1.0 : 0.0);
  double n = (cls_token ? D : 0.0) + D * C * P * P + (patch_bias ? D : 0.0) + (tokens + 2.0 * n_registers) * D;
  if (pooling == Pooling::Map) n += 4.0 * D * D + 8.0 * D + 2.0 * D * M + M;  // latent, q, kv, proj, norm, mlp
  if (ln_pre) n += ln * D;
  double block = ln * D + 4.0 * H * D * dh + (qkv_bias ? 3.0 * H * dh : 0.0) + D;
  if (!attn_only) block += ln * D + 2.0 * D * M + M + D + (mlp_hidden_norm ? ln * M : 0.0);
  n += n_layers * block + ln * D;
  if (n_classes > 0) n += D * n_classes + n_classes;
  return n >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(n);
}

void to_json(nlohmann::json& j, const ViTConfig& c) {
  j = nlohmann::json{{"image_size", c.image_size},
                     {"patch_size", c.patch_size},
                     {"n_channels", c.n_channels},
                     {"d_model", c.d_model},
                     {"n_heads", c.n_heads},
                     {"d_head", c.d_head},
                     {"d_mlp", c.d_mlp},
                     {"n_layers", c.n_layers},
                     {"n_classes", c.n_classes},
                     {"attn_only", c.attn_only},
                     {"normalization", toString(c.normalization)},
                     {"eps", c.eps},
                     {"legacy_post_ln", c.legacy_post_ln},
                     {"mlp_hidden_norm", c.mlp_hidden_norm},
                     {"ln_pre", c.ln_pre},
                     {"activation", toString(c.activation)},
                     {"cls_token", c.cls_token},
                     {"pooling", toString(c.pooling)},
                     {"final_ln_after_pool", c.final_ln_after_pool},
                     {"qkv_bias", c.qkv_bias},
                     {"patch_bias", c.patch_bias},
                     {"use_attn_result", c.use_attn_result},
                     {"n_registers", c.n_registers},
                     {"pos_interpolation", toString(c.pos_interpolation)},
                     {"return_type", toString(c.return_type)},
                     {"normalize_output", c.normalize_output},
                     {"class_names", c.class_names},
                     {"init", toString(c.init)}};
}

ViTConfig configFromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source, "", "the config is not a JSON object");
  ViTConfig c;
  readField(j, "image_size", c.image_size, source);
  readField(j, "patch_size", c.patch_size, source);
  readField(j, "n_channels", c.n_channels, source);
  readField(j, "d_model", c.d_model, source);
  readField(j, "n_heads", c.n_heads, source);
  c.d_head = c.n_heads > 0 ? c.d_model / c.n_heads : 0;
  readField(j, "d_head", c.d_head, source);
  readField(j, "d_mlp", c.d_mlp, source);
  readField(j, "n_layers", c.n_layers, source);
  readField(j, "n_classes", c.n_classes, source);
  readField(j, "attn_only", c.attn_only, source);
  readEnum(j, "normalization", c.normalization, kNormalizations, source);
  readField(j, "eps", c.eps, source);
  readField(j, "legacy_post_ln", c.legacy_post_ln, source);
  readField(j, "mlp_hidden_norm", c.mlp_hidden_norm, source);
  readField(j, "ln_pre", c.ln_pre, source);
  readEnum(j, "activation", c.activation, kActivations, source);
  readField(j, "cls_token", c.cls_token, source);
  readEnum(j, "pooling", c.pooling, kPoolings, source);
  readField(j, "final_ln_after_pool", c.final_ln_after_pool, source);
  readField(j, "qkv_bias", c.qkv_bias, source);
  readField(j, "patch_bias", c.patch_bias, source);
  readField(j, "use_attn_result", c.use_attn_result, source);
  readField(j, "n_registers", c.n_registers, source);
  readEnum(j, "pos_interpolation", c.pos_interpolation, kPosInterpolations, source);
  readEnum(j, "return_type", c.return_type, kReturnTypes, source);
  readField(j, "normalize_output", c.normalize_output, source);
  readField(j, "class_names", c.class_names, source);
  std::string init;
  readField(j, "init", init, source);
  if (!init.empty()) c.init = initSchemeFromString(init, source, "init");
  c.validate(source);
  return c;
}

}  // namespace prisma
