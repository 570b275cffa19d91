#pragma once
// timm's VisionTransformer: state dicts with timm's names (patch_embed.proj, pos_embed,
// blocks.N.norm1 / attn.qkv (fused [3·D, D], rows ordered q|k|v, head, d_head) /
// attn.proj / norm2 / mlp.fc1 / mlp.fc2, norm or fc_norm, head), from model.safetensors
// or a torch.save .bin/.pth, with a hub-style config.json (`architecture`, `num_classes`,
// `model_args` overriding the architecture's defaults, `pretrained_cfg` with the
// preprocessing) or with no config at all, in which case the shape is inferred from the
// tensors and every guess is written to the notes.
//
// Mapped exactly: CLS-token ('token') or mean ('avg', without class token) pooling,
// fc_norm (the final LayerNorm after pooling), pre_norm (CLIP-style LayerNorm before
// block 0), no_embed_class (the CLS token gets no position: a zero row), LayerScale
// (ls1/ls2.gamma, folded into the projections it scales). Refused with the reason:
// register tokens, qk-norm, attention pooling, 'avg' pooling beside a CLS token.

#include "model/io/ModelLoader.h"

#include <nlohmann/json_fwd.hpp>

namespace prisma::io {

class WeightFile;

// A timm hub config.json: `architecture` plus `model_args` or `pretrained_cfg`.
bool isTimmConfig(const nlohmann::json& config);
// A weight file with timm's ViT names (for files without a config).
bool hasTimmNames(const WeightFile& weights);

// `config` may be null (no config.json: infer). `config_path` names it in errors.
LoadedModel loadTimm(const std::string& weights, const nlohmann::json* config, const std::string& config_path,
                     const LoadOptions& options);

// The blocks' tensors in timm's names (norm1, attn.qkv, attn.proj, ls1.gamma, norm2,
// mlp.fc1, mlp.fc2, ls2.gamma; DINOv2 uses the same) into `sd` in HookedViT names, with
// LayerScale folded into the output projections; true when there was LayerScale.
bool takeTimmBlocks(WeightFile& weights, const ViTConfig& cfg, StateDict& sd);

// Export: why `cfg` cannot be written as a timm VisionTransformer ("" when it can), the
// hub-style config.json, and the state dict in timm's names.
std::string timmIncompatibility(const ViTConfig& cfg);
nlohmann::json timmConfigJson(const ViTConfig& cfg, const datasets::Preprocess& preprocess);
StateDict timmStateDict(const HookedViTImpl& model);

}  // namespace prisma::io
