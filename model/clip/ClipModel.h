#pragma once
// A whole CLIP (open_clip's CLIP class): the image tower as a HookedViT (io::loadOpenClip),
// the text tower (TextTower.h), the tokenizer and the learned temperature, so images and
// texts meet in one embedding space:
//   logits_per_image = exp(logit_scale) · normalize(image_features) @ normalize(text_features)ᵀ
//                      (+ logit_bias, for the SigLIP-style models that have one)

#include "model/clip/ClipTokenizer.h"
#include "model/clip/TextTower.h"
#include "model/io/ModelLoader.h"

#include <optional>
#include <string>
#include <vector>

namespace prisma::clip {

struct ClipModel {
  io::LoadedModel image;  // its output is image_features [images, embed_dim] (until a zero-shot head replaces it)
  torch::Tensor visual_proj;  // [d_model, embed_dim]: open_clip's visual.proj
  TextTransformer text{nullptr};
  ClipTokenizer tokenizer;
  torch::Tensor logit_scale;  // [] the raw parameter (its exp multiplies the cosines)
  torch::Tensor logit_bias;   // [] or undefined

  int context_length() const { return text->cfg().context_length; }
  torch::Tensor tokenize(const std::vector<std::string>& texts) const;  // [texts, context] int64
  torch::Tensor encodeText(const std::vector<std::string>& texts);    // [texts, embed_dim]
  torch::Tensor encodeImage(const torch::Tensor& pixels);             // [images, embed_dim]
};

// An open_clip model whose config (or inferred shape) has a text tower.
bool hasTextTower(const std::string& path);

// Throws prisma::Error naming the file and field when the path is not an open_clip model
// with a text tower we run (TextTower.h), or a tensor is missing or misshapen. The
// tokenizer is the folder's bpe_simple_vocab_16e6.txt.gz when it has one, else the bundled one.
ClipModel loadClip(const std::string& path, const io::LoadOptions& options = {});

// [images, texts]: exp(logit_scale) · cosine similarities (+ logit_bias).
torch::Tensor clipLogits(const torch::Tensor& image_features, const torch::Tensor& text_features,
                         const torch::Tensor& logit_scale, const torch::Tensor& logit_bias = {});

}  // namespace prisma::clip
