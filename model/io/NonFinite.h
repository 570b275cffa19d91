#pragma once
// NaN and infinity detection for weights and results. A model file can hold NaN or Inf
// weights (a diverged run, a bad conversion, a forged file) and then every output is NaN
// while every command still "works"; so loading says so in the model's notes, training
// stops before such a step is taken, and the CLI refuses to write NaN results unless asked.

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace prisma::io {

struct NonFiniteCount {
  int64_t nan = 0;
  int64_t inf = 0;
  int64_t total = 0;  // elements looked at
  bool any() const { return nan + inf > 0; }
};

// Counts NaN and ±Inf in a tensor (integer tensors have none).
NonFiniteCount countNonFinite(const torch::Tensor& t);

// A sentence naming the non-finite tensors of `tensors` (at most a few, then "and N more")
// with their counts, or nullopt when every value is finite. `what` names the collection,
// e.g. "weights".
std::optional<std::string> describeNonFinite(const std::map<std::string, torch::Tensor>& tensors,
                                             const std::string& what);

}  // namespace prisma::io
