#pragma once
// The width of the rows an SAE reads at a hook point (its d_in): the hook's last dimension,
// or heads × d_head for the per-head hooks ([batch, tokens, heads, d_head], flattened as
// SaeSplice's rows are). Measured on one forward pass of a blank image rather than derived
// from the config, so it holds for every hook any model family has.

#include <cstdint>
#include <string>

namespace prisma {
class HookedViTImpl;
}

namespace prisma::sae {

// Throws prisma::Error naming `source` and the field "hook" when the model has no such hook.
int64_t hookWidth(HookedViTImpl& model, const std::string& hook, const std::string& source);

}  // namespace prisma::sae
