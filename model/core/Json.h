#pragma once
// JSON with errors that name the file and the field: how every file the project reads
// (model configs, presets, training records, manifests, safetensors headers) is parsed and
// its values checked. Nothing in the project calls nlohmann::json::parse directly.

#include "model/Error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace prisma {

// Limits every JSON document obeys. Real configs nest 3-5 levels (a timm
// pretrained_cfg, a preset's sections); 64 leaves room for anything legitimate while
// keeping every recursive use of the value (copy, dump, compare) far from the stack's end.
inline constexpr int kMaxJsonDepth = 64;
// The largest JSON file read: configs, presets and records are kilobytes; a zoo manifest
// or a training record with every curve a few megabytes.
inline constexpr std::size_t kMaxJsonFileBytes = std::size_t(64) << 20;

struct JsonLimits {
  std::size_t max_bytes = kMaxJsonFileBytes;
  int max_depth = kMaxJsonDepth;
  bool reject_duplicate_keys = false;  // nlohmann keeps the last; a safetensors header must not have any
};

// THE way JSON is parsed in this project (configs, presets, training records, manifests,
// safetensors headers, the explorer's preset editor): `text` is the content of `source`.
// Throws prisma::Error naming `source` and the path to the offending value
// ("pretrained_cfg.mean[2]") when the text is too large, nested too deeply, has a
// duplicate key (when refused) or is not JSON.
nlohmann::json parseJson(std::string_view text, const std::string& source, const JsonLimits& limits = {});

// Reads and parses `path` with parseJson. Only regular files are opened (a FIFO or device
// is an error at once) and the size is checked before reading. Throws prisma::Error naming
// the file when it is missing, unreadable, too large or not JSON.
nlohmann::json readJsonFile(const std::string& path, const JsonLimits& limits = {});

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

}  // namespace prisma
