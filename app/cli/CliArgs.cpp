#include "app/cli/CliArgs.h"

#include "datasets/ImageIO.h"
#include "model/core/MemoryBudget.h"
#include "model/core/Numbers.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace prisma::cli {

namespace {
constexpr const char* kMaxMemoryOption = "max-memory";
constexpr const char* kMaxImagePixelsOption = "max-image-pixels";
constexpr const char* kAcceptTruncatedOption = "accept-truncated-images";

// "an integer >= 1", "a number in [0, 1]": what an option accepts, for messages.
std::string accepted(const char* kind, double min, double max) {
  auto text = [](double v) {
    std::ostringstream s;
    if (std::floor(v) == v && std::abs(v) < 1e18) s << static_cast<long long>(v);
    else s << v;
    return s.str();
  };
  if (max >= double(INT_MAX) && min <= -double(INT_MAX)) return std::string(kind);
  if (max >= double(INT_MAX)) return std::string(kind) + " >= " + text(min);
  return std::string(kind) + " in [" + text(min) + ", " + text(max) + "]";
}
}  // namespace

const char* const kGlobalOptionsHelp =
    "options of every command:\n"
    "  --max-memory SIZE         budget for what a file declares (storages, parameters, records), e.g. 4G;\n"
    "                            default half of physical memory (PRISMA_MAX_MEMORY)\n"
    "  --max-image-pixels N      refuse images with more pixels, checked before decoding; default 50000000\n"
    "                            (PRISMA_MAX_IMAGE_PIXELS)\n"
    "  --accept-truncated-images decode a JPEG cut short instead of refusing it (PRISMA_ACCEPT_TRUNCATED_IMAGES=1)\n";

int64_t parseIntegerOption(const std::string& text, const std::string& option, IntRange range) {
  const std::string problem = integerProblem(text, range.min, range.max);
  if (problem.empty()) return *parseInteger(text);
  const bool outside = problem.rfind("is outside", 0) == 0 || problem.rfind("does not fit", 0) == 0;
  throw UsageError("option --" + option + " needs " + accepted("an integer", double(range.min), double(range.max)) +
                   ", got '" + text + "'" + (outside ? "" : " (" + problem + ")"));
}

double parseRealOption(const std::string& text, const std::string& option, double min, double max) {
  const auto v = parseReal(text);
  if (!v || *v < min || *v > max)
    throw UsageError("option --" + option + " needs " + accepted("a number", min, max) + ", got '" + text + "'");
  return *v;
}

std::vector<std::string> applyGlobalOptions(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {  // everything after belongs to the command
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    std::string name = a.rfind("--", 0) == 0 ? a.substr(2) : "", value;
    const auto eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == kAcceptTruncatedOption && !inline_value) {
      ::setenv(datasets::kAcceptTruncatedEnv, "1", 1);
      continue;
    }
    if (name != kMaxMemoryOption && name != kMaxImagePixelsOption) {
      rest.push_back(a);
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) throw UsageError("option --" + name + " needs a value");
      value = args[++i];
    }
    if (name == kMaxMemoryOption) {
      const auto bytes = parseByteSize(value);
      if (!bytes) throw UsageError("option --max-memory needs a size such as 4G, 512M or 1073741824, got '" + value + "'");
      ::setenv(kMaxMemoryEnv, std::to_string(*bytes).c_str(), 1);
    } else {
      const int64_t pixels = parseIntegerOption(value, name, {1, INT64_MAX});
      ::setenv(datasets::kMaxImagePixelsEnv, std::to_string(pixels).c_str(), 1);
    }
  }
  return rest;
}

CliArgs::CliArgs(const std::vector<std::string>& args, const std::vector<std::string>& valued,
                 const std::vector<std::string>& flags) {
  auto known = [](const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positionals_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), val;
    const auto eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      val = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (known(valued, name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) throw UsageError("option --" + name + " needs a value");
        val = args[++i];
      }
      values_[name].push_back(val);
    } else if (known(flags, name) && !inline_value) {
      flags_[name] = true;
    } else {
      throw UsageError("unknown option --" + name);
    }
  }
}

std::string CliArgs::positional(size_t i, const char* what) const {
  if (i >= positionals_.size()) throw UsageError(std::string("missing ") + what);
  return positionals_[i];
}

std::string CliArgs::value(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::string CliArgs::required(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw UsageError("option --" + name + " is required");
  return it->second.back();
}

std::vector<std::string> CliArgs::values(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int CliArgs::intValue(const std::string& name, int fallback, IntRange range) const {
  if (!has(name)) return fallback;
  const IntRange asInt{std::max<int64_t>(range.min, INT_MIN), std::min<int64_t>(range.max, INT_MAX)};
  return static_cast<int>(parseIntegerOption(value(name), name, asInt));
}

double CliArgs::realValue(const std::string& name, double fallback, double min, double max) const {
  if (!has(name)) return fallback;
  return parseRealOption(value(name), name, min, max);
}

std::vector<int64_t> parseInts(const std::string& text, const std::string& option, IntRange range) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    out.push_back(parseIntegerOption(item, option, range));
  }
  if (out.empty()) throw UsageError("--" + option + " is empty");
  return out;
}

int classCheck(int64_t c, int n_classes, const std::string& option) {
  if (c < 0 || c >= n_classes)
    throw UsageError("--" + option + ": class " + std::to_string(c) + " outside [0, " + std::to_string(n_classes) + ")");
  return static_cast<int>(c);
}

}  // namespace prisma::cli
