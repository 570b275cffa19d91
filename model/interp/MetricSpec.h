#pragma once
// A patching metric as data: its kind, the classes it is about, and whether it is
// normalised against the unpatched runs. No LibTorch, so the GUI's request types and the
// command line describe a metric the same way; Metric.h's makeMetric turns a spec into
// the callable a sweep scores with. One place decides what the names mean, how many
// classes each kind takes and what the defaults are.
//
//   logit_diff     logit[A] − logit[B]   (classes A, B)
//   logit          logit[A]              (class A)
//   prob           softmax(logits)[A]    (class A)
//   cross_entropy  −log softmax[A]       (class A: the label)
//   cosine_to_clean  cos(output, clean output)   (no classes)
//
// cosine_to_clean is for models whose output is a feature, not class logits (DINOv2,
// Hugging Face ViTModel, a CLIP image tower without a zero-shot head): the cosine
// similarity of the patched run's output -- what `prisma run` writes as `output`: CLIP's
// image_embeds, DINOv2's x_norm_clstoken, ViTModel's final-LayerNorm CLS (the input of its
// pooler, not pooler_output) -- to the clean run's. The clean run scores 1 exactly, the
// corrupted run cos(corrupt, clean).
//
// normalised: (m − m_corrupt) / (m_clean − m_corrupt), "fraction of the clean behaviour
// restored", 0 the corrupted run and 1 the clean one. For cosine_to_clean m_clean = 1, so
// it is (cos − cos_corrupt) / (1 − cos_corrupt).

#include <string>
#include <vector>

namespace prisma::interp {

enum class MetricKind { LogitDiff, Logit, Prob, CrossEntropy, CosineToClean };

// The command-line names, in MetricKind order.
const std::vector<std::string>& metricNames();
std::string toString(MetricKind kind);
// Throws prisma::Error naming the known metrics for an unknown name.
MetricKind metricKindFromName(const std::string& name);
// 2 for logit_diff, 0 for cosine_to_clean, 1 for the others.
int classesNeeded(MetricKind kind);

struct MetricSpec {
  MetricKind kind = MetricKind::LogitDiff;
  // A (and B for logit_diff). Empty: the defaults (withDefaultClasses).
  std::vector<int> classes;
  bool normalized = false;

  // The classes filled in when none were given: A = the clean run's top class and, for
  // logit_diff, B = the corrupted run's (none for cosine_to_clean).
  MetricSpec withDefaultClasses(int clean_top, int corrupt_top) const;
  // The same metric without normalisation, whose values on the unpatched runs normalise it.
  MetricSpec base() const;
  // Throws prisma::Error naming the field for a wrong number of classes or a class outside
  // [0, n_classes).
  void check(int n_classes) const;
  // "logit_diff(0,3)", "normalized_logit_diff(0,3)", "prob(2)": for caches and file names.
  std::string key() const;
};

bool operator==(const MetricSpec& a, const MetricSpec& b);
inline bool operator!=(const MetricSpec& a, const MetricSpec& b) { return !(a == b); }

}  // namespace prisma::interp
