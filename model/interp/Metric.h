#pragma once
// Patching metrics: what a patched run is scored by. Activation patching asks "how much
// of the clean behaviour does putting this one clean activation into the corrupted run
// restore?", so a metric maps the patched run's logits to one number per run. The usual
// choice is the logit difference between the clean answer A and the corrupted answer B,
// logit[A] − logit[B]: it is linear in the final residual stream (up to the final
// LayerNorm's scale), so effects of components add up, and it ignores the shared shift
// every logit gets. Normalising it, (m − m_corrupt) / (m_clean − m_corrupt), reads as
// "fraction of the clean behaviour restored": 0 is the corrupted run, 1 the clean one.
//
// A metric is any callable [batch, classes] -> [batch]: patched runs are batched, one
// row per cell. It must be differentiable for attribution patching (all of these are).
// A MetricSpec (MetricSpec.h) names one of these as data; makeMetric builds it.

#include "model/interp/MetricSpec.h"

#include <torch/types.h>

#include <functional>

namespace prisma::interp {

using Metric = std::function<torch::Tensor(const torch::Tensor& logits)>;

namespace metrics {

// logit[a] − logit[b]
Metric logitDiff(int class_a, int class_b);
// logit[a]
Metric logit(int class_a);
// softmax(logits)[a]
Metric prob(int class_a);
// −log softmax(logits)[label]: the loss of the patched run on `label`.
Metric crossEntropy(int label);
// cos(output, clean) per row, clean [1, features] (or [features]): how much of the clean
// run's output direction a patch restores, for models whose output is a feature. Throws
// prisma::Error for an all-zero clean output (no direction to compare with).
Metric cosineTo(const torch::Tensor& clean);
// (m − corrupt) / (clean − corrupt), with clean and corrupt the metric's values on the
// unpatched runs. Throws prisma::Error when they are equal (nothing to normalise by).
Metric normalized(Metric base, double clean_value, double corrupt_value);

}  // namespace metrics

// The callable `spec` names, its classes checked against the logits it meets. A
// normalised spec and cosine_to_clean need the unpatched runs: this overload throws
// prisma::Error for them.
Metric makeMetric(const MetricSpec& spec);
// The same, normalising (when the spec says so) by the base metric's values on the clean
// and corrupted runs' logits [1, classes].
Metric makeMetric(const MetricSpec& spec, const torch::Tensor& clean_logits, const torch::Tensor& corrupt_logits);

// The metric of a single run (logits [1, classes]) as a number.
double metricValue(const Metric& metric, const torch::Tensor& logits);

}  // namespace prisma::interp
