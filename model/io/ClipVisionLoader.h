#pragma once
// Hugging Face CLIP's vision tower: CLIPVisionModelWithProjection, CLIPVisionModel, or
// the vision half of a whole CLIPModel (its text tower is skipped). CLIP differs from
// ViT in a LayerNorm before block 0 (`pre_layrnorm`, sic), quick_gelu, no patch bias, and
// a LayerNorm after pooling the CLS token (`post_layernorm`); `visual_projection` (no
// bias) becomes HookedViT's head, so the output is the image embedding `image_embeds`
// (not L2-normalised, as the Hugging Face model returns it). Without a projection the
// output is CLIPVisionModel's pooler_output.

#include "model/io/ModelLoader.h"

#include <nlohmann/json_fwd.hpp>

namespace prisma::io {

// model_type "clip_vision_model" or "clip" (with a vision_config).
bool isHfClip(const nlohmann::json& config);

LoadedModel loadHfClipVision(const std::string& folder, const nlohmann::json& config, const std::string& weights = "");

}  // namespace prisma::io
