#pragma once
// Opening a model from disk: detect the format of a folder or file, build a HookedViT
// with its config, and carry the preprocessing its images need.
//
// Formats (README.md "Model files" lists them with their detection rules): the project's
// own folder (config.json with "format": "prisma-hookedvit" + model.safetensors in
// HookedViT names), Hugging Face ViTForImageClassification / ViTModel / CLIP vision,
// timm VisionTransformer (with or without config.json), ViT-Prisma HookedViT state dicts
// and the legacy ViT-Prisma mice. Pickled files are read by a restricted unpickler that
// never executes code (RestrictedUnpickler.h).

#include "datasets/Preprocess.h"
#include "model/vit/StateDict.h"
#include "model/io/WeightStorage.h"
#include "model/vit/HookedViT.h"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <vector>

namespace prisma::io {

// Hugging Face ViTModel's pooler: tanh(dense(CLS after the final LayerNorm)), i.e. of
// the HookedViT's pre-logits output. HookedViT has no such layer, so a loaded model
// carries it beside the network.
struct Pooler {
  torch::Tensor weight;  // [out, d_model], nn.Linear layout
  torch::Tensor bias;    // [out]
  torch::Tensor operator()(const torch::Tensor& pre_logits) const;  // [batch, d_model] -> [batch, out]
};

struct LoadedModel {
  HookedViT model{nullptr};
  std::string format;   // "prisma", "hf-vit-classifier", "hf-vit-model", "timm", ...
  std::string source;   // the folder or file it came from
  std::string name;     // a display name
  datasets::Preprocess preprocess;
  std::vector<std::string> notes;  // what was inferred or assumed, for `prisma info`
  std::optional<Pooler> pooler;    // Hugging Face ViTModel's pooler, when the file has one
  std::string training_json;       // training state to keep beside the weights (JSON), or ""
};

struct LoadOptions {
  // For weight files without a config, whose tensors do not store the head count.
  std::optional<int> n_heads;
};

// `path` may also be a bundled mouse, "mouse:NAME" (ResourcePaths.h).
// Throws prisma::Error naming the file and the field when the format is unknown, a file
// is missing or corrupt, or a tensor disagrees with the config.
LoadedModel loadModel(const std::string& path, const LoadOptions& options = {});

// Writes the project's own format into `dir` (created if needed); each file atomically:
// config.json, model.safetensors, training.json (when the model carries training state)
// and a model card README.md. `storage` is how model.safetensors holds the weights
// (WeightStorage.h); loading restores float32 from any of them.
void saveModel(const LoadedModel& model, const std::string& dir, WeightStorage storage = WeightStorage::Float32);

// The default preprocessing of a model without a processor config: its size and channels,
// bilinear, mean = std = 0.5 (Hugging Face ViT's defaults).
datasets::Preprocess defaultPreprocess(const ViTConfig& cfg);

// The project's own folder format (what saveModel writes), for detection.
bool isNativeConfig(const nlohmann::json& config);

}  // namespace prisma::io
