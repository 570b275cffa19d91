#pragma once
// Model inputs named on the command line: an image file (preprocessed for the model), or
// `FILE.safetensors:KEY` (a [batch, C, H, W] float tensor, already preprocessed),
// optionally `:INDEX` to pick one item of the batch.

#include "model/io/ModelLoader.h"

#include <string>

namespace prisma::cli {

torch::Tensor loadInput(const std::string& spec, const io::LoadedModel& model);

}  // namespace prisma::cli
