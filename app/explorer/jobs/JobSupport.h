#pragma once
// Small conversions the model-thread jobs share: a request's image as the model's input,
// a model's class names, tensors as immutable float arrays the GUI can read, and an
// exception's text without LibTorch's backtrace.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/io/ModelLoader.h"

#include <torch/types.h>

#include "app/explorer/ExplorerTypes.h"

#include <exception>
#include <memory>
#include <vector>

namespace prisma::app::jobs {

// One image for the model, [1, C, H, W]: a file spec, or pixels already in memory.
torch::Tensor inputFor(const ImageRequest& request, const io::LoadedModel& model);
// The config's class names, "class K" where it has none.
QStringList classNamesOf(const ViTConfig& cfg);
// A tensor's values as a shared, immutable array (float32, row-major).
std::shared_ptr<const std::vector<float>> floats(const torch::Tensor& t);
QString describeError(const std::exception& e);

}  // namespace prisma::app::jobs
