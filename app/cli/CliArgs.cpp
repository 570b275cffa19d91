#include "app/cli/CliArgs.h"

#include <algorithm>
#include <sstream>

namespace prisma::cli {

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

int CliArgs::intValue(const std::string& name, int fallback) const {
  if (!has(name)) return fallback;
  const std::string v = value(name);
  try {
    size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw UsageError("option --" + name + " needs an integer, got '" + v + "'");
  }
}

std::vector<int64_t> parseInts(const std::string& text, const std::string& option) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError("--" + option + " needs comma-separated integers, got '" + text + "'");
    }
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
