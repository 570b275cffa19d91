#pragma once
// Opening a model from disk: detect the format of a folder or file, build a HookedViT
// with its config, and carry the preprocessing its images need.
//
// Formats: the project's own folder (config.json with "format": "prisma-hookedvit" +
// model.safetensors in HookedViT names) and Hugging Face ViTForImageClassification
// (config.json + model.safetensors with the Hub's names).

#include "datasets/Preprocess.h"
#include "model/vit/HookedViT.h"

#include <string>
#include <vector>

namespace prisma::io {

struct LoadedModel {
  HookedViT model{nullptr};
  std::string format;   // "prisma", "hf-vit-classifier", ...
  std::string source;   // the folder or file it came from
  std::string name;     // a display name
  datasets::Preprocess preprocess;
  std::vector<std::string> notes;  // what was inferred or assumed, for `prisma info`
};

// Throws prisma::Error naming the file and the field when the format is unknown, a file
// is missing or corrupt, or a tensor disagrees with the config.
LoadedModel loadModel(const std::string& path);

// Writes the project's own format into `dir` (created if needed); each file atomically.
void saveModel(const LoadedModel& model, const std::string& dir);

// The default preprocessing of a model without a processor config: its size and channels,
// bilinear, mean = std = 0.5 (Hugging Face ViT's defaults).
datasets::Preprocess defaultPreprocess(const ViTConfig& cfg);

}  // namespace prisma::io
