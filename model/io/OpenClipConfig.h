#pragma once
// open_clip's model description, as its Hugging Face hub layout writes it
// (open_clip_config.json = {"model_cfg": {embed_dim, quick_gelu, vision_cfg, text_cfg},
// "preprocess_cfg": {...}}), as open_clip's own model_configs/*.json hold it (the bare
// model_cfg), or inferred from the tensor shapes of a bare open_clip / OpenAI-CLIP state
// dict the way OpenAI's `build_model` does (its head width 64 and QuickGELU).
//
// Only the plain ViT towers are understood: a config naming a timm or Hugging Face tower,
// a ResNet (layers as a list), attentional pooling, LayerScale or another pooling is
// refused with the file and the field. The text tower is read on request
// (readOpenClipTextCfg), so an image tower loads even beside a text tower we cannot run.

#include "model/io/ModelLoader.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace prisma::io {

class WeightFile;

// Where an open_clip model's two files are.
struct OpenClipFiles {
  std::string config_path;  // open_clip_config.json (or a model_cfg .json); "" for a bare state dict
  std::string weights;      // open_clip_model.safetensors / open_clip_pytorch_model.bin / a .pt
};

// `path` is an open_clip folder, a weight file inside one, or a bare file with open_clip
// names; nullopt when it is none of these (probing reads only names and headers).
std::optional<OpenClipFiles> findOpenClipFiles(const std::string& path);
// A state dict with open_clip / OpenAI-CLIP names (visual.conv1, fused in_proj_weight).
bool hasOpenClipNames(const WeightFile& weights);

struct OpenClipVisionCfg {
  int image_size = 224;
  int patch_size = 16;
  int width = 768;
  int layers = 12;
  int heads = 12;
  int mlp = 3072;
  bool ln_pre = true;
  bool final_ln_after_pool = false;
  double eps = 1e-5;
};

struct OpenClipTextCfg {
  int context_length = 77;
  int vocab_size = 49408;
  int width = 512;
  int heads = 8;
  int layers = 12;
  int mlp = 2048;
  bool proj_bias = false;  // text_projection as an nn.Linear with bias
  double eps = 1e-5;
};

struct OpenClipConfig {
  std::string source;        // the file the description came from (or the weight file, inferred)
  nlohmann::json model_cfg;  // the model_cfg object (inferred ones are built here)
  std::string field_prefix;  // "model_cfg." in the hub layout, for error messages
  nlohmann::json preprocess_cfg;
  int embed_dim = 512;
  bool quick_gelu = false;
  OpenClipVisionCfg vision;
  bool inferred = false;  // sizes inferred from a bare state dict
};

// Reads open_clip_config.json (or a bare model_cfg). Throws prisma::Error naming the file
// and the dotted field ("model_cfg.vision_cfg.timm_model_name") for anything refused.
OpenClipConfig readOpenClipConfig(const nlohmann::json& file_json, const std::string& source);
// Sizes from the tensors of a bare state dict; every assumption goes to `notes`.
OpenClipConfig inferOpenClipConfig(const WeightFile& weights, const LoadOptions& options,
                                   std::vector<std::string>& notes);
// The config of `files` (read or inferred) with its weight file opened.
OpenClipConfig openClipConfig(const OpenClipFiles& files, const WeightFile& weights, const LoadOptions& options,
                              std::vector<std::string>& notes);

// The text tower's sizes; throws naming the field when the config names a tower we do not
// run (a Hugging Face text model, the "modern" architecture, another pooling).
OpenClipTextCfg readOpenClipTextCfg(const OpenClipConfig& cfg);

// Tensor names the image tower does not use: the text tower and the two scalars.
const std::vector<std::string>& openClipTextPrefixes();

}  // namespace prisma::io
