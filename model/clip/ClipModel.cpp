// open_clip CLIP: both towers, the tokenizer, the temperature (see ClipModel.h).

#include "model/clip/ClipModel.h"

#include "model/Error.h"
#include "model/io/OpenClipLoader.h"
#include "model/core/Json.h"
#include "model/io/WeightFile.h"

#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace prisma::clip {

namespace {

constexpr const char* kVocabularyFile = "bpe_simple_vocab_16e6.txt.gz";

torch::Tensor scalar(io::WeightFile& w, const std::string& name) {
  const torch::Tensor t = w.take(name);
  if (t.numel() != 1) throw Error(w.path(), name, "must hold one value");
  return t.reshape({});
}

}  // namespace

torch::Tensor ClipModel::tokenize(const std::vector<std::string>& texts) const {
  return tokenizer.tokenize(texts, context_length());
}

torch::Tensor ClipModel::encodeText(const std::vector<std::string>& texts) {
  torch::NoGradGuard no_grad;
  return text->forward(tokenize(texts));
}

torch::Tensor ClipModel::encodeImage(const torch::Tensor& pixels) {
  torch::NoGradGuard no_grad;
  // From ln_post's output, so it holds whatever head the model carries now.
  auto run = image.model->run_with_cache(pixels, filters::exact({"hook_ln_final"}));
  torch::Tensor pooled = run.cache["hook_ln_final"];  // [images, tokens, D] or [images, D]
  if (pooled.dim() == 3) pooled = pooled.select(1, 0);
  return torch::matmul(pooled, visual_proj);
}

bool hasTextTower(const std::string& path) {
  const auto files = io::findOpenClipFiles(path);
  if (!files) return false;
  std::vector<std::string> notes;
  const io::WeightFile w = io::WeightFile::open(files->weights, notes);
  if (files->config_path.empty()) return w.has("token_embedding.weight");
  const io::OpenClipConfig c = io::readOpenClipConfig(readJsonFile(files->config_path), files->config_path);
  return c.model_cfg.contains("text_cfg");
}

ClipModel loadClip(const std::string& path, const io::LoadOptions& options) {
  const auto files = io::findOpenClipFiles(path);
  if (!files) throw Error(path, "", "not an open_clip model (no open_clip_config.json, no open_clip tensor names)");
  ClipModel m;
  m.image = io::loadOpenClip(*files, options);
  m.visual_proj = m.image.model->head->W_H.detach().clone();
  std::vector<std::string> notes;
  io::WeightFile w = io::WeightFile::open(files->weights, notes);
  w.stripPrefix("module.");
  const io::OpenClipConfig oc = io::openClipConfig(*files, w, options, notes);
  const io::OpenClipTextCfg tc = io::readOpenClipTextCfg(oc);
  w.setImpliedBy(oc.source);
  m.text = TextTransformer(tc, oc.embed_dim, oc.quick_gelu ? Activation::QuickGelu : Activation::GeluErf);
  m.text->load(w);
  m.text->eval();
  m.logit_scale = scalar(w, "logit_scale");
  if (w.has("logit_bias")) m.logit_bias = scalar(w, "logit_bias");
  w.skipPrefix("visual.");
  for (const char* extra : {"attn_mask", "input_resolution", "context_length", "vocab_size"}) w.skipPrefix(extra);
  w.checkAllUsed();

  const fs::path beside = fs::path(files->weights).parent_path() / kVocabularyFile;
  m.tokenizer = fs::exists(beside) ? ClipTokenizer::fromFile(beside.string()) : ClipTokenizer::bundled();
  if (m.tokenizer.vocab_size() != tc.vocab_size)
    throw Error(oc.source, oc.field_prefix + "text_cfg.vocab_size",
                std::to_string(tc.vocab_size) + " tokens, but the CLIP tokenizer has " +
                    std::to_string(m.tokenizer.vocab_size()));
  m.image.notes.push_back("text tower: " + std::to_string(tc.layers) + " causal layers, width " +
                          std::to_string(tc.width) + ", context " + std::to_string(tc.context_length) +
                          ", end-of-text pooling; logit_scale exp = " +
                          std::to_string(m.logit_scale.exp().item<double>()));
  return m;
}

torch::Tensor clipLogits(const torch::Tensor& image_features, const torch::Tensor& text_features,
                         const torch::Tensor& logit_scale, const torch::Tensor& logit_bias) {
  namespace F = torch::nn::functional;
  const auto opts = F::NormalizeFuncOptions().dim(-1);
  torch::Tensor logits = logit_scale.exp() * torch::matmul(F::normalize(image_features, opts),
                                                           F::normalize(text_features, opts).t());
  if (logit_bias.defined()) logits = logits + logit_bias;
  return logits;
}

}  // namespace prisma::clip
