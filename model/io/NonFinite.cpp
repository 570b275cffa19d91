#include "model/io/NonFinite.h"

#include <torch/torch.h>

namespace prisma::io {

namespace {
constexpr size_t kNamedAtMost = 3;  // a message names this many tensors, then counts the rest
}  // namespace

NonFiniteCount countNonFinite(const torch::Tensor& t) {
  NonFiniteCount c;
  if (!t.defined()) return c;
  c.total = t.numel();
  if (!t.is_floating_point() && !t.is_complex()) return c;
  // Tensor by tensor, so the temporary masks stay the size of one weight.
  c.nan = torch::isnan(t).sum().item<int64_t>();
  c.inf = torch::isinf(t).sum().item<int64_t>();
  return c;
}

std::optional<std::string> describeNonFinite(const std::map<std::string, torch::Tensor>& tensors,
                                             const std::string& what) {
  std::string named;
  size_t bad = 0;
  int64_t nan = 0, inf = 0;
  for (const auto& [name, t] : tensors) {
    const NonFiniteCount c = countNonFinite(t);
    if (!c.any()) continue;
    nan += c.nan;
    inf += c.inf;
    if (++bad <= kNamedAtMost)
      named += (named.empty() ? "" : ", ") + name + " (" + std::to_string(c.nan + c.inf) + " of " +
               std::to_string(c.total) + ")";
  }
  if (bad == 0) return std::nullopt;
  if (bad > kNamedAtMost) named += " and " + std::to_string(bad - kNamedAtMost) + " more";
  return what + " hold non-finite values (" + std::to_string(nan) + " NaN, " + std::to_string(inf) +
         " infinite): " + named;
}

}  // namespace prisma::io
