#pragma once
// ViT-Prisma's own checkpoints, two generations:
//  * HookedViT state dicts (embed.proj.weight, blocks.L.attn.W_Q, ...: model/vit/StateDict.h)
//    with ViT-Prisma's flat HookedViTConfig as config.json (n_layers, d_model, n_heads,
//    normalization_type, classification_type, ...), or without a config (the shape is read
//    off the tensors; W_Q stores the head count).
//  * The legacy "mice" of its early trainer (BaseViT, 2023): a run folder holding the
//    nested config.json it wrote ({image, transformer, layernorm, classification, ...})
//    and checkpoints/model_N.pth = torch.save({model_state_dict, optimizer_state_dict,
//    epoch}). BaseViT is post-LN, with a LayerNorm before block 0 (pre_block_norm), a
//    fused qkv without bias, an output projection with bias, a LayerNorm on the MLP's
//    hidden layer and one after pooling (pre_head_norm); eps 0 means no LayerNorm at all.
//    The class count comes from head.weight (the config's "classification" is empty).

#include "model/io/ModelLoader.h"

#include <nlohmann/json_fwd.hpp>

namespace prisma::io {

class WeightFile;

bool isLegacyMouseConfig(const nlohmann::json& config);
bool isVitPrismaConfig(const nlohmann::json& config);
bool hasHookedVitNames(const WeightFile& weights);
bool hasLegacyMouseNames(const WeightFile& weights);

// `run_dir` holds config.json (null: infer from the tensors); `checkpoint` is the .pth to
// read ("" = the latest checkpoints/model_N.pth).
LoadedModel loadLegacyMouse(const std::string& run_dir, const nlohmann::json* config, const std::string& checkpoint,
                            const LoadOptions& options);

// `config` may be null (infer the shape from the tensors).
LoadedModel loadVitPrismaStateDict(const std::string& weights, const nlohmann::json* config,
                                   const std::string& config_path);

}  // namespace prisma::io
