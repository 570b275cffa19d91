// Hub-style model cards (see ModelCard.h).

#include "model/io/ModelCard.h"

#include <sstream>

namespace prisma::io {

namespace {

constexpr size_t kMaxListedClasses = 20;  // longer lists are summarised

std::string describe(const ViTConfig& c) {
  std::ostringstream s;
  s << "| field | value |\n|---|---|\n"
    << "| image | " << c.image_size << "x" << c.image_size << ", " << c.n_channels << " channel(s), patch "
    << c.patch_size << " (" << c.n_tokens() << " tokens) |\n"
    << "| width | d_model " << c.d_model << ", " << c.n_heads << " heads x " << c.d_head << " |\n"
    << "| depth | " << c.n_layers << " layers, " << (c.attn_only ? "attention-only" : "MLP " + std::to_string(c.d_mlp))
    << " |\n"
    << "| blocks | " << (c.legacy_post_ln ? "post-LN" : "pre-LN") << ", LayerNorm " << toString(c.normalization)
    << " (eps " << c.eps << "), activation " << toString(c.activation) << " |\n"
    << "| pooling | " << toString(c.pooling) << (c.final_ln_after_pool ? ", final LayerNorm after pooling" : "")
    << (c.ln_pre ? "; LayerNorm before block 0" : "") << " |\n"
    << "| output | " << (c.return_type == ReturnType::Logits ? std::to_string(c.n_classes) + " outputs" : "pre-logits")
    << (c.normalize_output ? ", L2-normalised" : "") << " |\n";
  return s.str();
}

}  // namespace

std::string modelCard(const LoadedModel& m, const std::string& library) {
  const ViTConfig& c = m.model->cfg();
  std::ostringstream s;
  s << "---\n";
  const char* pipeline = c.n_classes > 0 ? "image-classification" : "image-feature-extraction";
  if (library == "transformers" || library == "timm")
    s << "library_name: " << library << "\npipeline_tag: " << pipeline << "\n";
  s << "tags:\n- vision-transformer\n- mechanistic-interpretability\n- vit-prisma\n---\n\n";
  s << "# " << (m.name.empty() ? "Vision Transformer" : m.name) << "\n\n";
  s << "Written by Prisma Explorer from `" << m.source << "` (" << m.format << ").\n\n";
  s << "## Architecture\n\n" << describe(c) << "\n";
  s << "Parameters: " << m.model->parameter_count() << ".\n\n";
  if (!c.class_names.empty()) {
    s << "Classes (" << c.class_names.size() << "): ";
    for (size_t i = 0; i < c.class_names.size() && i < kMaxListedClasses; ++i) s << (i ? ", " : "") << c.class_names[i];
    if (c.class_names.size() > kMaxListedClasses) s << ", ...";
    s << "\n\n";
  }
  const auto& p = m.preprocess;
  s << "## Preprocessing\n\nResize to " << p.width << "x" << p.height << " (" << datasets::toString(p.interpolation)
    << "), scale to [0, 1], then (x - mean) / std per channel with mean [";
  for (size_t i = 0; i < p.mean.size(); ++i) s << (i ? ", " : "") << p.mean[i];
  s << "] and std [";
  for (size_t i = 0; i < p.std.size(); ++i) s << (i ? ", " : "") << p.std[i];
  s << "].\n\n";
  if (!m.notes.empty()) {
    s << "## Notes from loading\n\n";
    for (const auto& n : m.notes) s << "- " << n << "\n";
    s << "\n";
  }
  s << "## Loading\n\n```python\n";
  if (library == "transformers")
    s << "from transformers import " << (c.n_classes > 0 ? "ViTForImageClassification" : "ViTModel") << "\nmodel = "
      << (c.n_classes > 0 ? "ViTForImageClassification" : "ViTModel") << ".from_pretrained(\"path/or/hub-id\")\n";
  else if (library == "timm")
    s << "import timm\nmodel = timm.create_model(\"hf-hub:user/repo\", pretrained=True)\n";
  else
    s << "# Prisma Explorer's own format: config.json (HookedViT config, class names, preprocessing)\n"
         "# + model.safetensors with ViT-Prisma's HookedViT parameter names.\n"
         "from safetensors.torch import load_file\nstate_dict = load_file(\"model.safetensors\")\n";
  s << "```\n";
  return s.str();
}

}  // namespace prisma::io
