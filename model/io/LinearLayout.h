#pragma once
// Between nn.Linear's fused [out, in] weights, as Hugging Face, timm and CLIP store
// attention, and HookedViT's per-head layouts: the importers split, the exporters fuse.

#include <torch/types.h>

#include <cstdint>

namespace prisma::io {

// nn.Linear stores [out, in]; HookedViT stores per-head [head, d_model, d_head] (W_Q/K/V)
// and [head, d_head, d_model] (W_O).
torch::Tensor headsIn(const torch::Tensor& linear_weight, int64_t heads, int64_t d_head);   // [H·dh, D] -> [H, D, dh]
torch::Tensor headsOut(const torch::Tensor& linear_weight, int64_t heads, int64_t d_head);  // [D, H·dh] -> [H, dh, D]
torch::Tensor linearFromHeadsIn(const torch::Tensor& W);    // [H, D, dh] -> [H·dh, D]
torch::Tensor linearFromHeadsOut(const torch::Tensor& W_O);  // [H, dh, D] -> [D, H·dh]

}  // namespace prisma::io
