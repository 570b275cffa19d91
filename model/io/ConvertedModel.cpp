// Building HookedViTs from converted weights (see ConvertedModel.h).

#include "model/io/ConvertedModel.h"

#include "model/Error.h"
#include "model/io/ImageNetClasses.h"

#include <torch/torch.h>

#include <cctype>
#include <cmath>

namespace prisma::io {

namespace {
constexpr int64_t kMaxGridCells = int64_t(1) << 24;  // a 4096 x 4096 patch grid
constexpr int64_t kMaxImageSide = int64_t(1) << 16;
}  // namespace

Activation activationFromName(const std::string& name, const std::string& source, const std::string& field) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "gelu" || n == "gelu_erf") return Activation::GeluErf;
  if (n == "gelu_new" || n == "gelu_pytorch_tanh" || n == "gelu_fast" || n == "gelu_tanh") return Activation::GeluTanh;
  if (n == "quick_gelu" || n == "quickgelu") return Activation::QuickGelu;
  if (n == "relu") return Activation::Relu;
  throw Error(source, field, "unsupported activation '" + name + "' (gelu, gelu_new, quick_gelu, relu)");
}

HookedViT buildModel(const ViTConfig& cfg, StateDict weights, const std::string& source) {
  // A config far larger than its weights would allocate before loadStateDict could say
  // which tensor is wrong: refuse it up front.
  int64_t held = 0;
  for (const auto& [name, t] : weights) held += t.numel();
  if (cfg.parameter_count() > held)
    throw Error(source, "", "the config implies " + std::to_string(cfg.parameter_count()) +
                                " parameters but the weights hold " + std::to_string(held) + ": they disagree");
  HookedViT model(cfg);
  loadStateDict(*model, std::move(weights), source);
  model->eval();
  return model;
}

void addImageNetNamesIfMissing(ViTConfig& cfg, std::vector<std::string>& notes) {
  if (cfg.n_classes != kImageNetClassCount || !lacksClassNames(cfg.class_names)) return;
  cfg.class_names = imageNetClassNames();
  notes.push_back("1000 classes without names: using the ImageNet-1k class names");
}

int squareSide(int64_t n) {
  if (n <= 0 || n > kMaxGridCells) return 0;
  int64_t s = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  return s * s == n ? static_cast<int>(s) : 0;
}


int inferredImageSize(int64_t n_patches, int patch, const std::string& file, const std::string& tensor) {
  const int side = squareSide(n_patches);
  if (side == 0) throw Error(file, tensor, std::to_string(n_patches) + " patch positions are not a square grid");
  const int64_t size = int64_t(side) * patch;
  if (patch <= 0 || size > kMaxImageSide) throw Error(file, tensor, "implies an implausible image size");
  return static_cast<int>(size);
}

}  // namespace prisma::io
