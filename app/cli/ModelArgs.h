#pragma once
// What the model-writing commands (convert, export) share: the load options they accept
// (`--heads N` for weight files that do not store the head count) and the fixed input
// batch they use to check that a written model reproduces the original.

#include "app/cli/CliArgs.h"

#include "model/io/ModelLoader.h"

namespace prisma::cli {

io::LoadOptions loadOptions(const CliArgs& args);

// A deterministic [2, C, H, W] normal batch of the model's input shape.
torch::Tensor checkBatch(const ViTConfig& cfg);

}  // namespace prisma::cli
