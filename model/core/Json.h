#pragma once
// JSON with errors that name the file and the field: how every file the project reads
// (model configs, presets, training records, manifests) is parsed and its values checked.

#include "model/Error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace prisma {

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

}  // namespace prisma
