#pragma once
// The metric options `prisma patch` and `prisma patch-dataset` share, read into one
// interp::MetricSpec: --metric NAME, --labels A,B (logit_diff) or --label A (the others),
// --normalize. Classes not given stay empty, and each pair fills in its own predictions
// (MetricSpec::withDefaultClasses).

#include "app/cli/CliArgs.h"

#include "model/interp/MetricSpec.h"

#include <algorithm>
#include <string>

namespace prisma::cli {

// n_classes <= 0: the model is not loaded yet, so class indices are not range-checked.
inline interp::MetricSpec metricSpecFromArgs(const CliArgs& a, int n_classes) {
  const std::string name = a.value("metric", "logit_diff");
  const auto& known = interp::metricNames();
  if (std::find(known.begin(), known.end(), name) == known.end())
    throw UsageError("--metric must be logit_diff, prob, logit or cross_entropy");
  interp::MetricSpec spec;
  spec.kind = interp::metricKindFromName(name);
  spec.normalized = a.flag("normalize");
  auto checked = [n_classes](int64_t c, const char* option) {
    return n_classes > 0 ? classCheck(c, n_classes, option) : static_cast<int>(c);
  };
  if (interp::classesNeeded(spec.kind) == 2) {
    if (a.has("label")) throw UsageError("--metric " + name + " takes --labels A,B");
    if (a.has("labels")) {
      const auto ab = parseInts(a.value("labels"), "labels");
      if (ab.size() != 2) throw UsageError("--labels needs two classes A,B");
      spec.classes = {checked(ab[0], "labels"), checked(ab[1], "labels")};
    }
  } else {
    if (a.has("labels")) throw UsageError("--metric " + name + " takes --label A");
    if (a.has("label")) spec.classes = {checked(a.intValue("label", 0), "label")};
  }
  return spec;
}

}  // namespace prisma::cli
