#include "model/interp/Metric.h"

#include "model/Error.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

namespace prisma::interp {

namespace {

// Class indices are checked when the metric meets logits, since only then is the class
// count known; an out-of-range index must be an error naming it, not a crash.
void checkClass(const torch::Tensor& logits, int c, const char* field) {
  if (logits.dim() != 2) throw Error("metric", "logits", "expected [batch, classes]");
  if (c < 0 || c >= logits.size(1))
    throw Error("metric", field,
                "class " + std::to_string(c) + " out of range [0, " + std::to_string(logits.size(1)) + ")");
}

}  // namespace

namespace {

// torch's default for cosine_similarity; it only matters for an all-zero output.
constexpr double kCosineEps = 1e-8;

struct MetricKindInfo {
  MetricKind kind;
  const char* name;
  int classes;
};

constexpr MetricKindInfo kMetricKinds[] = {
    {MetricKind::LogitDiff, "logit_diff", 2},
    {MetricKind::Logit, "logit", 1},
    {MetricKind::Prob, "prob", 1},
    {MetricKind::CrossEntropy, "cross_entropy", 1},
    {MetricKind::CosineToClean, "cosine_to_clean", 0},
};

const MetricKindInfo& metricInfo(MetricKind kind) {
  for (const auto& k : kMetricKinds)
    if (k.kind == kind) return k;
  throw Error("metric", "kind", "unknown metric kind");
}

}  // namespace

const std::vector<std::string>& metricNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& k : kMetricKinds) n.push_back(k.name);
    return n;
  }();
  return names;
}

std::string toString(MetricKind kind) { return metricInfo(kind).name; }

MetricKind metricKindFromName(const std::string& name) {
  for (const auto& k : kMetricKinds)
    if (name == k.name) return k.kind;
  std::string all;
  for (const auto& n : metricNames()) all += (all.empty() ? "" : ", ") + n;
  throw Error("metric", "name", "unknown metric '" + name + "' (known: " + all + ")");
}

int classesNeeded(MetricKind kind) { return metricInfo(kind).classes; }

MetricSpec MetricSpec::withDefaultClasses(int clean_top, int corrupt_top) const {
  MetricSpec s = *this;
  if (s.classes.empty() && classesNeeded(kind) > 0) {
    s.classes = {clean_top};
    if (classesNeeded(kind) == 2) s.classes.push_back(corrupt_top);
  }
  return s;
}

MetricSpec MetricSpec::base() const {
  MetricSpec s = *this;
  s.normalized = false;
  return s;
}

void MetricSpec::check(int n_classes) const {
  const int needed = classesNeeded(kind);
  if (static_cast<int>(classes.size()) != needed)
    throw Error("metric", "classes", toString(kind) + " takes " + std::to_string(needed) + " class" +
                                         (needed == 1 ? "" : "es") + ", got " + std::to_string(classes.size()));
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] < 0 || classes[i] >= n_classes)
      throw Error("metric", i == 0 ? "class A" : "class B",
                  "class " + std::to_string(classes[i]) + " outside [0, " + std::to_string(n_classes) + ")");
}

std::string MetricSpec::key() const {
  std::string k = (normalized ? "normalized_" : "") + toString(kind) + "(";
  for (size_t i = 0; i < classes.size(); ++i) k += (i ? "," : "") + std::to_string(classes[i]);
  return k + ")";
}

bool operator==(const MetricSpec& a, const MetricSpec& b) {
  return a.kind == b.kind && a.classes == b.classes && a.normalized == b.normalized;
}

namespace metrics {

Metric logitDiff(int class_a, int class_b) {
  return [class_a, class_b](const torch::Tensor& logits) {
    checkClass(logits, class_a, "class_a");
    checkClass(logits, class_b, "class_b");
    return logits.select(1, class_a) - logits.select(1, class_b);  // [batch]
  };
}

Metric logit(int class_a) {
  return [class_a](const torch::Tensor& logits) {
    checkClass(logits, class_a, "class");
    return logits.select(1, class_a);
  };
}

Metric prob(int class_a) {
  return [class_a](const torch::Tensor& logits) {
    checkClass(logits, class_a, "class");
    return torch::softmax(logits, 1).select(1, class_a);
  };
}

Metric crossEntropy(int label) {
  return [label](const torch::Tensor& logits) {
    checkClass(logits, label, "label");
    return -torch::log_softmax(logits, 1).select(1, label);
  };
}

Metric cosineTo(const torch::Tensor& clean) {
  const torch::Tensor ref = clean.detach().reshape({1, -1}).to(torch::kFloat32);  // [1, features]
  if (ref.norm().item<double>() == 0.0)
    throw Error("metric", "cosine_to_clean", "the clean run's output is all zeros: no direction to compare with");
  return [ref](const torch::Tensor& out) {
    if (out.dim() != 2 || out.size(1) != ref.size(1))
      throw Error("metric", "cosine_to_clean",
                  "expected outputs [batch, " + std::to_string(ref.size(1)) + "] like the clean run's");
    // [batch]; eps only guards an all-zero patched output, whose cosine is then 0.
    return torch::cosine_similarity(out, ref.to(out.scalar_type()).expand_as(out), 1, kCosineEps);
  };
}

Metric normalized(Metric base, double clean_value, double corrupt_value) {
  const double range = clean_value - corrupt_value;
  if (range == 0.0 || !std::isfinite(range))
    throw Error("metric", "normalized",
                "clean and corrupted values are equal; there is nothing to normalise by");
  return [base = std::move(base), corrupt_value, range](const torch::Tensor& logits) {
    return (base(logits) - corrupt_value) / range;
  };
}

}  // namespace metrics

Metric makeMetric(const MetricSpec& spec) {
  if (spec.normalized)
    throw Error("metric", "normalized", "a normalised metric needs the clean and corrupted runs");
  if (spec.kind == MetricKind::CosineToClean)
    throw Error("metric", "cosine_to_clean", "needs the clean run's output");
  if (static_cast<int>(spec.classes.size()) != classesNeeded(spec.kind))
    throw Error("metric", "classes", toString(spec.kind) + " takes " + std::to_string(classesNeeded(spec.kind)) +
                                         " classes, got " + std::to_string(spec.classes.size()));
  const int a = spec.classes[0];
  switch (spec.kind) {
    case MetricKind::LogitDiff: return metrics::logitDiff(a, spec.classes[1]);
    case MetricKind::Logit: return metrics::logit(a);
    case MetricKind::Prob: return metrics::prob(a);
    case MetricKind::CrossEntropy: return metrics::crossEntropy(a);
    case MetricKind::CosineToClean: break;  // refused above
  }
  throw Error("metric", "kind", "unknown metric kind");
}

Metric makeMetric(const MetricSpec& spec, const torch::Tensor& clean_logits, const torch::Tensor& corrupt_logits) {
  Metric base;
  if (spec.kind == MetricKind::CosineToClean) {
    if (!spec.classes.empty()) spec.check(0);  // names the field: it takes no classes
    base = metrics::cosineTo(clean_logits);
  } else {
    base = makeMetric(spec.base());
  }
  if (!spec.normalized) return base;
  const double clean = metricValue(base, clean_logits), corrupt = metricValue(base, corrupt_logits);
  return metrics::normalized(std::move(base), clean, corrupt);
}

double metricValue(const Metric& metric, const torch::Tensor& logits) {
  const torch::Tensor v = metric(logits);
  if (v.numel() != 1) throw Error("metric", "", "expected one run, got " + std::to_string(v.numel()) + " values");
  return v.item<double>();
}

}  // namespace prisma::interp
