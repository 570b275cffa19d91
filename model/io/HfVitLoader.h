#pragma once
// Hugging Face ViTForImageClassification: config.json + model.safetensors with the
// Hub's classic names (vit.encoder.layer.N.attention.attention.query.weight, ...).
// nn.Linear stores [out, in]; HookedViT stores per-head [head, d_model, d_head], so each
// projection is transposed and split by head on the way in.

#include "model/io/ModelLoader.h"

#include <nlohmann/json_fwd.hpp>

namespace prisma::io {

// True when `config` (a parsed config.json) describes a Hugging Face ViT classifier.
bool isHfVitClassifier(const nlohmann::json& config);

// The HookedViT config equivalent of an HF ViTConfig; `source` names config.json.
ViTConfig hfVitConfig(const nlohmann::json& config, const std::string& source);

LoadedModel loadHfVitClassifier(const std::string& folder, const nlohmann::json& config);

}  // namespace prisma::io
