#pragma once
// Module paths inside a HookedViT, built in one place: hook names ("blocks.3.attn.hook_z")
// and parameter names ("blocks.3.attn.W_Q") both live under "blocks.L.", and they must equal
// ViT-Prisma's exactly, so a cache or a state dict can be compared with Python's.

#include <cstdint>
#include <string>
#include <string_view>

namespace prisma {

// "blocks.L." -- the prefix of every name inside block `layer`.
inline std::string blockPrefix(int64_t layer) { return "blocks." + std::to_string(layer) + "."; }

// "blocks.L.SUFFIX", e.g. hookName(2, "attn.hook_pattern") or hookName(0, "hook_resid_pre").
inline std::string hookName(int64_t layer, std::string_view suffix) {
  std::string name = blockPrefix(layer);
  name.append(suffix.data(), suffix.size());
  return name;
}

}  // namespace prisma
