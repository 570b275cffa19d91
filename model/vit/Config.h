#pragma once
// HookedViT's configuration: every architectural choice of the ViT families we load
// (ViT-Prisma mice, Hugging Face ViT, timm, CLIP) as plain data, with JSON I/O.

#include "model/vit/Initialization.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace prisma {

enum class Normalization {
  LN,     // LayerNorm with weight and bias
  LNPre,  // LayerNorm without weight and bias (after folding them into the next layer)
  None    // no LayerNorm anywhere (the original mice: eps 0)
};
enum class Activation { GeluErf, GeluTanh, QuickGelu, Relu };
// Map: timm's attention-pool head (AttentionPoolLatent: a learned latent query attends
// over the final tokens; SigLIP's pooling).
enum class Pooling { Cls, Mean, Map };
// How the patch rows of W_pos are resized for an input of another size (the prefix rows --
// CLS, registers -- never are): not at all (the input must have the native size), or as
// torch's bicubic interpolate does it with antialias=True and the output size (timm's
// resample_abs_pos_embed; DINOv2 with registers), or without antialias and with the scale
// factor (grid + 0.1) / native grid (DINOv2 without registers).
enum class PosInterpolation { None, BicubicAntialias, BicubicOffset };
enum class ReturnType { Logits, PreLogits };

struct ViTConfig {
  int image_size = 32;
  int patch_size = 8;
  int n_channels = 1;
  int d_model = 128;
  int n_heads = 4;
  int d_head = 32;
  int d_mlp = 512;
  int n_layers = 1;
  int n_classes = 10;

  bool attn_only = false;
  Normalization normalization = Normalization::LN;
  double eps = 1e-5;
  // The early ViT-Prisma mice: post-LN blocks and a LayerNorm on the MLP's hidden layer.
  bool legacy_post_ln = false;
  bool mlp_hidden_norm = false;
  // A LayerNorm after the embeddings, before block 0 (CLIP's pre_layrnorm).
  bool ln_pre = false;
  Activation activation = Activation::GeluErf;
  bool cls_token = true;
  Pooling pooling = Pooling::Cls;
  // Apply the final LayerNorm after pooling (timm's fc_norm, CLIP's post_layernorm)
  // instead of on every token before it.
  bool final_ln_after_pool = false;
  bool qkv_bias = true;    // false: no b_Q/b_K/b_V parameters (BaseViT's fused qkv has none)
  bool patch_bias = true;  // false: no embed.proj.bias
  bool use_attn_result = false;  // compute blocks.L.attn.hook_result [B, T, H, D]
  // Register tokens after the CLS token: [CLS, reg_0..reg_{R-1}, patches]. Their W_pos
  // rows are zero (timm and DINOv2 add no position to them).
  int n_registers = 0;
  PosInterpolation pos_interpolation = PosInterpolation::None;
  ReturnType return_type = ReturnType::Logits;
  bool normalize_output = false;  // L2-normalise the output (CLIP embeddings)

  std::vector<std::string> class_names;  // empty or n_classes entries

  // How a fresh model of this config is drawn (Initialization.h), so a run's saved config
  // says what its training started from. It says nothing about a model converted from
  // another library. Files without the field mean normal(0.02), as before it existed.
  InitScheme init;

  int grid_size() const { return image_size / patch_size; }
  int n_patches() const { return grid_size() * grid_size(); }
  int n_prefix() const { return (cls_token ? 1 : 0) + n_registers; }  // tokens before the patches
  int n_tokens() const { return n_patches() + n_prefix(); }
  bool has_ln_weights() const { return normalization == Normalization::LN; }
  bool has_ln() const { return normalization != Normalization::None; }

  // Throws prisma::Error naming `source` and the offending field.
  void validate(const std::string& source = "config") const;

  // How many parameters HookedViT(*this) holds, counted without building it, so loaders
  // can refuse a config whose sizes disagree with the weight file before allocating.
  // Saturates at INT64_MAX for absurd sizes.
  int64_t parameter_count() const;
};

std::string toString(Normalization v);
std::string toString(Activation v);
std::string toString(Pooling v);
std::string toString(PosInterpolation v);
std::string toString(ReturnType v);

void to_json(nlohmann::json& j, const ViTConfig& cfg);
// Reads a config written by to_json. Missing fields keep their defaults, unknown enum
// values and wrong types are errors naming `source` and the field; validates the result.
ViTConfig configFromJson(const nlohmann::json& j, const std::string& source);

}  // namespace prisma
