#pragma once
// CLIP on the command line: what `prisma run` adds for a model with a text tower, and
// `prisma tokenize`.

#include "model/clip/ClipModel.h"

#include <map>
#include <string>
#include <vector>

namespace prisma::cli {

// For a CLIP: image_embeds (= the image tower's output); with `texts`, text_tokens,
// text_embeds and logits_per_image [images, texts].
void addClipOutputs(clip::ClipModel& model, const torch::Tensor& image_embeds, const std::vector<std::string>& texts,
                    std::map<std::string, torch::Tensor>& tensors);

}  // namespace prisma::cli
