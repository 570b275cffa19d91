#pragma once
// facebookresearch/dinov2's torch-hub checkpoints (dinov2_vit{s,b,l}14[_reg]_pretrain.pth:
// a plain state dict of DinoVisionTransformer) -> HookedViT. Tokens are [CLS, registers,
// patches]: pos_embed covers CLS + patches and the registers are inserted after it is
// added, so their W_pos rows are zero. LayerScale (ls1/ls2.gamma) is folded into the output
// projections, the unused mask_token is skipped, the final `norm` is applied to every token
// and the output is x_norm_clstoken (the hub model's output; the head is the identity).
// Other input sizes interpolate the position table as the hub models do: antialiased
// bicubic to the output size with registers, plain bicubic with the 0.1 scale offset
// without (DINOv2 ships no config; a config.json with interpolate_antialias /
// interpolate_offset overrides that rule). SwiGLU FFNs (vitg14) are refused.

#include "model/io/ModelLoader.h"

#include <nlohmann/json_fwd.hpp>

namespace prisma::io {

class WeightFile;

// A config.json describing a DinoVisionTransformer ("class" names it, or it has interpolate_offset).
bool isDinoV2Config(const nlohmann::json& config);
// DINOv2's state-dict names: mask_token beside patch_embed and LayerScale.
bool hasDinoV2Names(const WeightFile& weights);

// The checkpoint of a folder with such a config: its "checkpoint" field, else the one
// *.pth there. Throws naming the folder when there is none or several.
std::string dinoV2Checkpoint(const std::string& folder, const nlohmann::json& config);

LoadedModel loadDinoV2(const std::string& weights, const nlohmann::json* config, const std::string& config_path,
                       const LoadOptions& options);

}  // namespace prisma::io
