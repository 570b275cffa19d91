#pragma once
// What every model-format converter needs to turn a file's tensors into a HookedViT:
// activation names, strict building, ImageNet names, and the patch grid a position
// table implies.

#include "model/vit/Config.h"
#include "model/vit/HookedViT.h"
#include "model/vit/StateDict.h"

#include <cstdint>
#include <string>
#include <vector>

namespace prisma::io {

// Activation names as Hugging Face, timm and ViT-Prisma write them.
Activation activationFromName(const std::string& name, const std::string& source, const std::string& field);

// The HookedViT for `cfg` with `weights` (HookedViT names) loaded strictly, in eval mode.
// Takes the tensors by value and drops each once copied (see loadStateDict); pass with
// std::move to keep memory-mapped weights from being resident twice.
HookedViT buildModel(const ViTConfig& cfg, StateDict weights, const std::string& source);

// A 1000-class model without names gets ImageNet-1k's, and a note saying so.
void addImageNetNamesIfMissing(ViTConfig& cfg, std::vector<std::string>& notes);

// Grid side of `n_patches` patches, or 0 when it is not a square (or absurdly large).
int squareSide(int64_t n_patches);

// The image size whose `n_patches` patches of side `patch` a position table implies;
// throws naming `file` and `tensor` when they do not form a plausible square grid.
int inferredImageSize(int64_t n_patches, int patch, const std::string& file, const std::string& tensor);

}  // namespace prisma::io
