#pragma once
// Where a model folder keeps its weights: the conventions of Hugging Face folders and of
// ViT-Prisma's training runs.

#include <string>

namespace prisma::io {

// `dir`/model_N.pth (or .pt) with the largest N -- how ViT-Prisma's trainer names its
// checkpoints -- or "" when there is none.
std::string latestCheckpoint(const std::string& dir);

// The weight file of a folder: model.safetensors, else pytorch_model.bin, else the one
// .pth/.pt/.bin/.safetensors there; "" when none.
std::string findWeightFile(const std::string& folder);

}  // namespace prisma::io
