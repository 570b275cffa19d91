#pragma once
// CLIP on the command line: what `prisma run` adds for a model with a text tower, and
// `prisma tokenize`.

#include "model/clip/ClipModel.h"
#include "model/clip/ZeroShot.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace prisma::cli {

struct ClipRunOptions {
  std::vector<std::string> texts;  // --text, repeatable
  std::string classes;             // --classes FILE, or "imagenet"; "" = no zero-shot head
  std::string tmpl = clip::kDefaultTemplate;  // --template
};

// With classes: builds the zero-shot head and installs it in the model (so the run's hooks
// and `output` are the classifier's); null otherwise.
std::shared_ptr<const clip::ZeroShotHead> prepareClipRun(clip::ClipModel& model, const ClipRunOptions& options);

// The model a patching command sweeps (`prisma patch`, `prisma patch-dataset`): with
// --classes FILE|imagenet [--template T], a CLIP's image tower with the zero-shot head
// installed (its class names then name --label / --labels); otherwise the model as
// loaded. --classes on a model without a text tower is a usage error.
io::LoadedModel loadModelForPatching(const std::string& path, const std::string& classes, const std::string& tmpl);

// image_embeds; with texts, text_tokens, text_embeds and logits_per_image [images, texts];
// with a zero-shot head, `logits` [images, classes] (CLIP's exact numbers).
void addClipOutputs(clip::ClipModel& model, const torch::Tensor& pixels, const ClipRunOptions& options,
                    const clip::ZeroShotHead* head, std::map<std::string, torch::Tensor>& tensors);

}  // namespace prisma::cli
