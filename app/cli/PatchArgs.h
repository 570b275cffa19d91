#pragma once
// The metric options `prisma patch` and `prisma patch-dataset` share, read into one
// interp::MetricSpec: --metric NAME, --labels A,B (logit_diff) or --label A (the others),
// --normalize. A class is an index or, for a model with class names (a CLIP with
// --classes), a name. Classes not given stay empty, and each pair fills in its own
// predictions (MetricSpec::withDefaultClasses).
//
// A model whose output is a feature, not class logits (DINOv2, ViTModel, a CLIP image
// tower without --classes), defaults to --metric cosine_to_clean; a class metric on it is
// a usage error naming the option, never a crash.

#include "app/cli/CliArgs.h"

#include "model/interp/MetricSpec.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

namespace prisma::cli {

// What the metric options are checked against; the defaults describe a model not loaded
// yet (nothing range-checked, names left for later).
struct MetricTarget {
  int n_classes = 0;                     // <= 0: unknown
  bool has_classes = true;               // false: the output is a feature vector
  std::vector<std::string> class_names;  // empty: indices only
};

namespace detail {

inline bool allDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

inline std::string lowered(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// One class: an index, or a class name (exact first, then ignoring ASCII case).
inline int classFromText(const std::string& text, const MetricTarget& t, const std::string& option) {
  if (allDigits(text) || t.n_classes <= 0) {
    if (!allDigits(text)) return -1;  // a name, resolved once the model (and its names) is loaded
    const int64_t c = parseIntegerOption(text, option, kNonNegative);
    return t.n_classes > 0 ? classCheck(c, t.n_classes, option) : static_cast<int>(c);
  }
  for (size_t i = 0; i < t.class_names.size(); ++i)
    if (t.class_names[i] == text) return static_cast<int>(i);
  for (size_t i = 0; i < t.class_names.size(); ++i)
    if (lowered(t.class_names[i]) == lowered(text)) return static_cast<int>(i);
  throw UsageError("--" + option + ": '" + text + "' is neither a class index nor one of the model's " +
                   std::to_string(t.class_names.size()) + " class names");
}

// "A,B" -> two classes. Names may not contain commas here; use their indices then.
inline std::vector<int> classesFromText(const std::string& text, const MetricTarget& t, const std::string& option) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(classFromText(item, t, option));
  return out;
}

}  // namespace detail

inline interp::MetricSpec metricSpecFromArgs(const CliArgs& a, const MetricTarget& target = {}) {
  const std::string fallback = target.has_classes ? "logit_diff" : "cosine_to_clean";
  const std::string name = a.value("metric", fallback);
  const auto& known = interp::metricNames();
  if (std::find(known.begin(), known.end(), name) == known.end())
    throw UsageError("--metric must be logit_diff, prob, logit, cross_entropy or cosine_to_clean");
  interp::MetricSpec spec;
  spec.kind = interp::metricKindFromName(name);
  spec.normalized = a.flag("normalize");
  const int needed = interp::classesNeeded(spec.kind);
  if (needed > 0 && !target.has_classes)
    throw UsageError("--metric " + name +
                     " needs class logits, but this model's output is a feature vector (no classes): use "
                     "--metric cosine_to_clean, or --classes FILE|imagenet on a CLIP with a text tower");
  if (needed == 0) {
    if (a.has("label") || a.has("labels")) throw UsageError("--metric " + name + " takes no --label / --labels");
  } else if (needed == 2) {
    if (a.has("label")) throw UsageError("--metric " + name + " takes --labels A,B");
    if (a.has("labels")) {
      spec.classes = detail::classesFromText(a.value("labels"), target, "labels");
      if (spec.classes.size() != 2) throw UsageError("--labels needs two classes A,B");
    }
  } else {
    if (a.has("labels")) throw UsageError("--metric " + name + " takes --label A");
    if (a.has("label")) spec.classes = {detail::classFromText(a.value("label"), target, "label")};
  }
  return spec;
}

}  // namespace prisma::cli
