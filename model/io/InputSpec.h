#pragma once
// Model inputs named by a string, as the CLI and the explorer's screenshot mode take
// them: an image file (preprocessed for the model), or `FILE.safetensors:KEY` (a
// [batch, C, H, W] float tensor, already preprocessed), optionally `:INDEX` to pick one
// item of the batch, or a dataset item `NAME/SPLIT/INDEX` (induction/test/32) as the
// explorer names it.

#include "model/io/ModelLoader.h"

#include <opencv2/core/mat.hpp>

#include <string>

namespace prisma::io {

torch::Tensor loadInput(const std::string& spec, const LoadedModel& model);

// A decoded image (datasets/ImageIO.h's canonical form) as the model's input [1, C, H, W].
torch::Tensor imageInput(const cv::Mat& image, const datasets::Preprocess& preprocess);

}  // namespace prisma::io
