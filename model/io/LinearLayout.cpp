// Per-head <-> nn.Linear weight layouts (see LinearLayout.h).

#include "model/io/LinearLayout.h"

#include <torch/torch.h>

namespace prisma::io {

torch::Tensor headsIn(const torch::Tensor& w, int64_t heads, int64_t d_head) {
  return w.t().reshape({w.size(1), heads, d_head}).permute({1, 0, 2});
}

torch::Tensor headsOut(const torch::Tensor& w, int64_t heads, int64_t d_head) {
  return w.t().reshape({heads, d_head, w.size(0)});
}

torch::Tensor linearFromHeadsIn(const torch::Tensor& W) {
  return W.permute({0, 2, 1}).reshape({W.size(0) * W.size(2), W.size(1)});
}

torch::Tensor linearFromHeadsOut(const torch::Tensor& W_O) {
  return W_O.reshape({W_O.size(0) * W_O.size(1), W_O.size(2)}).t();
}

}  // namespace prisma::io
