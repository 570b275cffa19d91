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

double metricValue(const Metric& metric, const torch::Tensor& logits) {
  const torch::Tensor v = metric(logits);
  if (v.numel() != 1) throw Error("metric", "", "expected one run, got " + std::to_string(v.numel()) + " values");
  return v.item<double>();
}

}  // namespace prisma::interp
