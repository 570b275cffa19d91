#include "model/vit/HookPoint.h"

#include <algorithm>

namespace prisma {

torch::Tensor HookPointImpl::forward(torch::Tensor x) {
  for (const auto& e : forward_) {
    torch::Tensor replaced = e.fn(x, *this);
    if (replaced.defined()) x = replaced;
  }
  if (!backward_.empty() && x.requires_grad()) {
    // The autograd graph may outlive this call and the hook's removal, so the tensor
    // hook owns copies of the functions and shares ownership of this module.
    std::vector<HookFn> fns;
    for (const auto& e : backward_) fns.push_back(e.fn);
    auto self = std::static_pointer_cast<const HookPointImpl>(shared_from_this());
    x.register_hook([fns, self](torch::Tensor grad) {
      for (const auto& fn : fns) {
        torch::Tensor replaced = fn(grad, *self);
        if (replaced.defined()) grad = replaced;
      }
      return grad;
    });
  }
  return x;
}

int HookPointImpl::add(HookFn fn, HookDirection direction) {
  const int id = next_id_++;
  (direction == HookDirection::Forward ? forward_ : backward_).push_back({id, std::move(fn)});
  return id;
}

void HookPointImpl::remove(int id) {
  auto drop = [id](std::vector<Entry>& v) {
    v.erase(std::remove_if(v.begin(), v.end(), [id](const Entry& e) { return e.id == id; }),
            v.end());
  };
  drop(forward_);
  drop(backward_);
}

void HookPointImpl::clear() {
  forward_.clear();
  backward_.clear();
}

}  // namespace prisma
