#pragma once
// What Hugging Face vision configs share: the encoder sizes of config.json and the image
// processor of preprocessor_config.json, read with errors naming the file and the field.

#include "datasets/Preprocess.h"
#include "model/vit/Config.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace prisma::io {

// The encoder sizes every Hugging Face vision config names alike (ViTConfig,
// CLIPVisionConfig): image_size, patch_size, num_channels, hidden_size,
// num_attention_heads (dividing hidden_size), intermediate_size, num_hidden_layers,
// hidden_act and layer_norm_eps, whose defaults differ per family.
struct HfEncoderDefaults {
  std::string hidden_act;
  double layer_norm_eps;
};
void readHfEncoderSizes(const nlohmann::json& j, const std::string& source, const HfEncoderDefaults& defaults,
                        ViTConfig& c);

// The image processor of a Hugging Face folder (preprocessor_config.json), starting from
// `fallback`; `notes` records a missing file or a crop the preprocessing cannot express.
datasets::Preprocess hfPreprocess(const std::string& folder, const ViTConfig& cfg,
                                  datasets::Preprocess fallback, std::vector<std::string>& notes);

}  // namespace prisma::io
