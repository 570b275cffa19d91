#pragma once
// Zero-shot classification with CLIP (Radford et al. 2021, "Learning Transferable Visual
// Models From Natural Language Supervision", §3.1.2): each class becomes a prompt ("a photo
// of a {}."), the text tower embeds the prompts, and an image's logits are
//   exp(logit_scale) · normalize(image_features) @ normalize(text_features)ᵀ  (+ logit_bias).
//
// Installed in the HookedViT, the head is linear in the pooled residual so the logit lens,
// direct logit attribution and the patching metrics read it as a classifier's:
//   W_H = proj @ normalize(text_features)ᵀ · exp(logit_scale)    [d_model, classes]
// Its logits are CLIP's multiplied by ‖image_features‖, a positive factor per image (the
// one non-linear step, the image embedding's L2 normalisation, is left out as LayerNorm's
// scale is left out of a lens): rankings, argmax and the sign of every logit difference
// are CLIP's. zeroShotLogits gives CLIP's exact numbers.

#include "model/clip/ClipModel.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace prisma::clip {

inline constexpr const char* kDefaultTemplate = "a photo of a {}.";

// `tmpl` with every "{}" replaced by `class_name`.
std::string promptFor(const std::string& tmpl, const std::string& class_name);

// ImageNet-1k's classes for prompts: the first name of each line of the bundled list
// ("tench, Tinca tinca" -> "tench"), in index order.
std::vector<std::string> imageNetPromptClasses();

// One class name per line (UTF-8; blank lines and lines starting with '#' skipped). Throws
// prisma::Error naming the file (and line) for a missing file, a NUL byte or no classes.
std::vector<std::string> readClassFile(const std::string& path);

struct ZeroShotHead {
  std::vector<std::string> classes;
  std::vector<std::string> prompts;
  torch::Tensor text_features;  // [classes, embed_dim], L2-normalised
  torch::Tensor weight;         // [d_model, classes] = proj @ text_featuresᵀ · exp(logit_scale)
  torch::Tensor bias;           // [classes]: logit_bias, or zeros
};

// Called after each batch of prompts with (prompts embedded, prompts in all).
using PromptProgress = std::function<void(size_t done, size_t total)>;

// Embeds the prompts (in batches) and builds the head. A set `stop` is checked between
// batches: the build then throws prisma::Cancelled and leaves nothing half made.
ZeroShotHead buildZeroShotHead(ClipModel& model, const std::vector<std::string>& classes,
                               const std::string& tmpl = kDefaultTemplate, const PromptProgress& progress = {},
                               const std::atomic<bool>* stop = nullptr);

// Thrown by a build whose stop token was set.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

// True when the model's output is a feature vector, not class logits: pre-logits models
// (DINOv2, ViTModel) and CLIP image towers whose head is still the image projection (no
// zero-shot head installed, so no class names). Patching such a model takes the
// cosine_to_clean metric; the explorer shows no class prediction for it.
bool outputIsFeature(const io::LoadedModel& model);

// Heads computed once per model + template + class list (the ImageNet head embeds 1,000
// prompts). Owned by whoever keeps the model, not global.
class ZeroShotCache {
public:
  std::shared_ptr<const ZeroShotHead> get(ClipModel& model, const std::vector<std::string>& classes,
                                          const std::string& tmpl = kDefaultTemplate);
  size_t size() const { return heads_.size(); }

private:
  std::map<std::string, std::shared_ptr<const ZeroShotHead>> heads_;
};

// The model's head becomes the zero-shot head, its class names the classes (the image
// embedding's projection stays in ClipModel::visual_proj).
void installZeroShotHead(ClipModel& model, const ZeroShotHead& head);

// CLIP's exact zero-shot logits [images, classes] for pixels [images, C, H, W].
torch::Tensor zeroShotLogits(ClipModel& model, const ZeroShotHead& head, const torch::Tensor& pixels);

}  // namespace prisma::clip
