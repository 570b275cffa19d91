#pragma once
// Hook points, TransformerLens' design: LibTorch's nn::Module has no forward hooks, so
// every activation we want to read, replace or differentiate passes through an identity
// module that calls the functions registered on it. The module's dotted path in the
// model ("blocks.0.attn.hook_pattern") is its name, equal to ViT-Prisma's.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>
#include <vector>

namespace prisma {

class HookPointImpl;

enum class HookDirection { Forward, Backward };

// A hook sees the activation (forward) or its gradient (backward) and the hook point.
// Returning a defined tensor replaces the value; returning `{}` leaves it as it is.
using HookFn = std::function<torch::Tensor(const torch::Tensor&, const HookPointImpl&)>;

class HookPointImpl : public torch::nn::Module {
public:
  HookPointImpl() = default;

  torch::Tensor forward(torch::Tensor x);

  // Returns an id for remove(). Hooks run in the order they were added.
  int add(HookFn fn, HookDirection direction = HookDirection::Forward);
  void remove(int id);
  void clear();
  bool empty() const { return forward_.empty() && backward_.empty(); }

  const std::string& hook_name() const { return name_; }
  void set_hook_name(std::string name) { name_ = std::move(name); }

private:
  struct Entry {
    int id;
    HookFn fn;
  };
  std::string name_;
  std::vector<Entry> forward_;
  std::vector<Entry> backward_;
  int next_id_ = 1;
};
TORCH_MODULE(HookPoint);

}  // namespace prisma
