// Strict number parsing (see Numbers.h), on std::from_chars.

#include "model/core/Numbers.h"

#include <charconv>
#include <cstdio>
#include <cmath>
#include <limits>

namespace prisma {

std::string formatFixed(double v, int digits) {
  char buf[352];  // enough for any double at up to 32 decimals
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::optional<int64_t> parseInteger(std::string_view text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

std::optional<double> parseReal(std::string_view text) {
  double v = 0.0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<uint64_t> parseByteSize(std::string_view text) {
  std::string_view number = text;
  for (std::string_view unit : {"iB", "B"})
    if (number.size() > unit.size() && number.substr(number.size() - unit.size()) == unit) {
      number.remove_suffix(unit.size());
      break;
    }
  double scale = 1.0;
  if (!number.empty()) {
    switch (number.back()) {
      case 'K': case 'k': scale = 1024.0; break;
      case 'M': case 'm': scale = 1024.0 * 1024.0; break;
      case 'G': case 'g': scale = 1024.0 * 1024.0 * 1024.0; break;
      case 'T': case 't': scale = 1024.0 * 1024.0 * 1024.0 * 1024.0; break;
      default: break;
    }
    if (scale != 1.0) number.remove_suffix(1);
  }
  if (const auto whole = parseInteger(number); whole && scale == 1.0) {
    if (*whole <= 0) return std::nullopt;
    return static_cast<uint64_t>(*whole);
  }
  const auto real = parseReal(number);
  // 2^64 is exactly representable; anything at or past it does not fit.
  constexpr double kLimit = 18446744073709551616.0;
  if (!real || !(*real > 0.0) || *real * scale >= kLimit) return std::nullopt;
  const auto bytes = static_cast<uint64_t>(*real * scale);
  if (bytes == 0) return std::nullopt;
  return bytes;
}

std::string integerProblem(std::string_view text, int64_t min, int64_t max) {
  if (const auto v = parseInteger(text)) {
    if (*v >= min && *v <= max) return "";
    return "is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  }
  // A run of digits that from_chars refused can only be one that does not fit.
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos)
    return "does not fit (" + std::to_string(min) + " to " + std::to_string(max) + ")";
  return "is not an integer";
}

}  // namespace prisma
