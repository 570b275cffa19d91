// Export to Hugging Face ViT and timm layouts (see ModelExport.h); the per-library name
// mappings live beside their loaders (HfVitLoader, TimmLoader), so import and export of
// one library are read side by side.

#include "model/io/ModelExport.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/io/HfVitLoader.h"
#include "model/io/ModelCard.h"
#include "model/io/SafeTensors.h"
#include "model/io/TimmLoader.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

constexpr double kRescale8Bit = 1.0 / 255.0;
// PIL filter numbers, as Hugging Face image processors store them.
constexpr int kPilNearest = 0;
constexpr int kPilBilinear = 2;
constexpr int kPilBicubic = 3;

int pilFilter(datasets::Interpolation i) {
  switch (i) {
    case datasets::Interpolation::Nearest: return kPilNearest;
    case datasets::Interpolation::Bilinear: return kPilBilinear;
    case datasets::Interpolation::Bicubic: return kPilBicubic;
  }
  return kPilBilinear;
}

nlohmann::json hfProcessorJson(const datasets::Preprocess& p) {
  return {{"image_processor_type", "ViTImageProcessor"},
          {"do_resize", true},
          {"size", {{"height", p.height}, {"width", p.width}}},
          {"resample", pilFilter(p.interpolation)},
          {"do_rescale", true},
          {"rescale_factor", kRescale8Bit},
          {"do_normalize", true},
          {"image_mean", p.mean},
          {"image_std", p.std}};
}

}  // namespace

ExportFormat exportFormatFromString(const std::string& name) {
  if (name == "hf" || name == "huggingface" || name == "transformers") return ExportFormat::HuggingFace;
  if (name == "timm") return ExportFormat::Timm;
  throw std::invalid_argument("unknown export format '" + name + "' (hf or timm)");
}

std::string toString(ExportFormat format) { return format == ExportFormat::HuggingFace ? "hf" : "timm"; }

std::string exportIncompatibility(const LoadedModel& m, ExportFormat format) {
  const ViTConfig& c = m.model->cfg();
  return format == ExportFormat::HuggingFace ? hfVitIncompatibility(c) : timmIncompatibility(c);
}

void exportModel(const LoadedModel& m, const std::string& dir, ExportFormat format) {
  if (const std::string why = exportIncompatibility(m, format); !why.empty())
    throw Error(m.source, toString(format), "cannot be exported to " +
                                                std::string(format == ExportFormat::HuggingFace ? "Hugging Face ViT" : "timm") +
                                                ": " + why);
  const ViTConfig& c = m.model->cfg();
  // Build everything first: a refusal discovered while mapping leaves no half-written folder.
  StateDict tensors;
  nlohmann::json config;
  std::string library;
  if (format == ExportFormat::HuggingFace) {
    tensors = hfVitStateDict(*m.model, m.pooler);
    config = hfVitConfigJson(c, m.pooler.has_value() && c.n_classes == 0);
    library = "transformers";
  } else {
    tensors = timmStateDict(*m.model);
    config = timmConfigJson(c, m.preprocess);
    library = "timm";
  }
  fs::create_directories(dir);
  const fs::path d(dir);
  writeSafeTensors((d / "model.safetensors").string(), tensors, {{"format", "pt"}});
  writeTextAtomically((d / "config.json").string(), config.dump(2) + "\n");
  if (format == ExportFormat::HuggingFace)
    writeTextAtomically((d / "preprocessor_config.json").string(), hfProcessorJson(m.preprocess).dump(2) + "\n");
  writeTextAtomically((d / "README.md").string(), modelCard(m, library));
}

}  // namespace prisma::io
