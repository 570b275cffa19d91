#pragma once
// Sharing: a loaded model written in another library's own layout -- config.json,
// model.safetensors and a model card README.md (plus preprocessor_config.json for
// Hugging Face) -- ready to upload to the Hub and to open with that library. Only
// architectures that map exactly are written (pre-LN with LayerNorm, CLS or mean pooling,
// ...); anything else is refused with the reason, before a file is touched.

#include "model/io/ModelLoader.h"

#include <string>

namespace prisma::io {

enum class ExportFormat { HuggingFace, Timm };

// "hf" or "timm"; throws std::invalid_argument otherwise.
ExportFormat exportFormatFromString(const std::string& name);
std::string toString(ExportFormat format);

// Why `model` cannot be written as `format`, or "" when it can.
std::string exportIncompatibility(const LoadedModel& model, ExportFormat format);

// Writes the folder (created if needed), each file atomically. Throws prisma::Error
// naming the format and the reason when the architecture does not map.
void exportModel(const LoadedModel& model, const std::string& dir, ExportFormat format);

}  // namespace prisma::io
