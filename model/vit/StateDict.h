#pragma once
// HookedViT parameters by name (ViT-Prisma's names: cls_token, embed.proj.weight,
// blocks.L.attn.W_Q, ...), and strict loading: every parameter
// present with the right shape, nothing unexpected, every error naming the file and key.

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace prisma {
class HookedViTImpl;
}

namespace prisma {

using StateDict = std::map<std::string, torch::Tensor>;

StateDict stateDict(const HookedViTImpl& model);  // detached views of the parameters

// Copies `tensors` into the parameters of the same names (converted to float32).
void loadStateDict(HookedViTImpl& model, const StateDict& tensors, const std::string& source);
// The same, dropping each source tensor as soon as it is copied: a tensor viewing a
// memory-mapped file then hands its pages back, and loading never holds the file and the
// parameters in memory at once.
void loadStateDict(HookedViTImpl& model, StateDict&& tensors, const std::string& source);

std::string shapeString(const std::vector<int64_t>& shape);
std::string shapeString(const torch::Tensor& t);

}  // namespace prisma
