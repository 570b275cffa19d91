#pragma once
// Hugging Face ViT: `ViTForImageClassification` (a head on the CLS token) and `ViTModel`
// (no head; the layout of google/vit-base-patch16-224-in21k and facebook/dino-vitb16,
// with or without the tanh pooler). config.json + model.safetensors or pytorch_model.bin,
// under either naming scheme:
//   classic (the Hub's files):  vit.encoder.layer.N.attention.attention.query.weight, ...
//   transformers 5 (in memory): vit.layers.N.attention.q_proj.weight, mlp.fc1, ...
// ViTModel drops the `vit.` prefix. nn.Linear stores [out, in]; HookedViT stores per-head
// [head, d_model, d_head], so each projection is transposed and split by head.

#include "model/io/ModelLoader.h"

#include <nlohmann/json_fwd.hpp>

namespace prisma::io {

// True when `config` (a parsed config.json) describes a Hugging Face ViT (model_type "vit").
bool isHfVit(const nlohmann::json& config);

// The HookedViT config equivalent of an HF ViTConfig; `source` names config.json. With
// `with_head` false the model outputs its pre-logits and has no classes.
ViTConfig hfVitConfig(const nlohmann::json& config, const std::string& source, bool with_head = true);

// `weights` is the weight file to read ("" = the folder's model.safetensors or
// pytorch_model.bin). Head or not is decided by the file: `classifier.*` present or not.
LoadedModel loadHfVit(const std::string& folder, const nlohmann::json& config, const std::string& weights = "");

// The HF ViT names (classic scheme) of a HookedViT that maps onto ViT: for export.
// Throws prisma::Error with the reason when the architecture does not map.
StateDict hfVitStateDict(const HookedViTImpl& model, const std::optional<Pooler>& pooler);
nlohmann::json hfVitConfigJson(const ViTConfig& cfg, bool with_pooler);
// Why `cfg` cannot be written as a Hugging Face ViT, or "" when it can.
std::string hfVitIncompatibility(const ViTConfig& cfg);

}  // namespace prisma::io
