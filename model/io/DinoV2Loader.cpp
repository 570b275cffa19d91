// DINOv2 torch-hub checkpoints -> HookedViT (see DinoV2Loader.h).

#include "model/io/DinoV2Loader.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/ConvertedModel.h"
#include "model/io/TimmLoader.h"
#include "model/io/WeightFile.h"
#include "model/vit/HookNames.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

constexpr int kDinoHeadWidth = 64;  // every hub model: vits 6 heads of 64 ... vitg 24
constexpr double kDinoEps = 1e-6;
constexpr double kDinoOffset = 0.1;
const std::vector<float> kImageNetMean = {0.485f, 0.456f, 0.406f};
const std::vector<float> kImageNetStd = {0.229f, 0.224f, 0.225f};

int countBlocks(const WeightFile& w) {
  int n = 0;
  while (w.has(hookName(n, "norm1.weight"))) ++n;
  return n;
}

}  // namespace

bool isDinoV2Config(const nlohmann::json& j) {
  return j.is_object() && (jsonString(j, "class").find("DinoVisionTransformer") != std::string::npos ||
                           j.contains("interpolate_offset"));
}

bool hasDinoV2Names(const WeightFile& w) {
  return w.has("mask_token") && w.has("patch_embed.proj.weight") && w.has("cls_token") && w.has("pos_embed");
}

std::string dinoV2Checkpoint(const std::string& folder, const nlohmann::json& config) {
  const fs::path dir(folder);
  const std::string named = jsonOptional<std::string>(config, "checkpoint", "", (dir / "config.json").string());
  if (!named.empty()) {
    if (named.find('/') != std::string::npos || named.find('\\') != std::string::npos)
      throw Error((dir / "config.json").string(), "checkpoint", "must be a file name in the folder");
    return (dir / named).string();
  }
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".pth") found.push_back(e.path().string());
  if (found.size() != 1)
    throw Error(folder, "", found.empty() ? "no DINOv2 checkpoint (*.pth) in the folder"
                                          : "several *.pth files: name the checkpoint to load");
  return found.front();
}

LoadedModel loadDinoV2(const std::string& weights, const nlohmann::json* config, const std::string& config_path,
                       const LoadOptions& options) {
  LoadedModel out;
  const std::string source = config ? config_path : weights;
  WeightFile src = WeightFile::openCheckpoint(weights, config ? config_path : kShapesFromEmbeddings, out.notes);
  if (src.has("blocks.0.mlp.w12.weight"))
    throw Error(weights, "blocks.0.mlp.w12.weight", "DINOv2's SwiGLU FFN (vitg14) is not supported");
  if (src.has("blocks.0.0.norm1.weight"))
    throw Error(weights, "blocks.0.0.norm1.weight", "chunked blocks (block_chunks > 0) are not supported");

  ViTConfig c;
  c.d_model = src.dim("patch_embed.proj.weight", 0);
  c.n_channels = src.dim("patch_embed.proj.weight", 1);
  c.patch_size = src.dim("patch_embed.proj.weight", 2);
  c.n_registers = src.has("register_tokens") ? src.dim("register_tokens", 1) : 0;
  const int64_t pos_rows = src.dim("pos_embed", 1);
  c.image_size = inferredImageSize(pos_rows - 1, c.patch_size, src.path(), "pos_embed");
  c.n_layers = countBlocks(src);
  c.d_mlp = src.dim("blocks.0.mlp.fc1.weight", 0);
  c.n_heads = c.d_model % kDinoHeadWidth == 0 ? c.d_model / kDinoHeadWidth : 1;
  c.eps = kDinoEps;
  bool antialias = c.n_registers > 0;  // the hub's rule: _reg models antialias, the others offset by 0.1
  double offset = antialias ? 0.0 : kDinoOffset;
  if (config) {
    c.n_heads = jsonOptional(*config, "num_heads", c.n_heads, config_path);
    c.eps = jsonOptional(*config, "layer_norm_eps", c.eps, config_path);
    antialias = jsonOptional(*config, "interpolate_antialias", antialias, config_path);
    offset = jsonOptional(*config, "interpolate_offset", offset, config_path);
    const std::string ffn = jsonOptional<std::string>(*config, "ffn_layer", "mlp", config_path);
    if (ffn != "mlp") throw Error(config_path, "ffn_layer", "only the plain MLP is supported, not '" + ffn + "'");
  } else {
    out.notes.push_back("no config: " + std::to_string(c.n_heads) + " heads of 64 and eps 1e-6 (the hub models'), " +
                        (antialias ? "antialiased interpolation (a model with registers)"
                                   : "interpolation offset 0.1 (a model without registers)"));
  }
  if (options.n_heads) c.n_heads = *options.n_heads;
  if (c.n_heads <= 0 || c.d_model % c.n_heads != 0)
    throw Error(source, "num_heads", std::to_string(c.n_heads) + " heads do not divide the width " + std::to_string(c.d_model));
  c.d_head = c.d_model / c.n_heads;
  if (antialias && offset == 0.0) c.pos_interpolation = PosInterpolation::BicubicAntialias;
  else if (!antialias && offset == kDinoOffset) c.pos_interpolation = PosInterpolation::BicubicOffset;
  else
    throw Error(source, "interpolate_offset", "only the hub's two rules are supported: antialias with offset 0, or offset 0.1 without");
  c.activation = Activation::GeluErf;
  c.cls_token = true;
  c.pooling = Pooling::Cls;
  c.n_classes = 0;
  c.return_type = ReturnType::PreLogits;
  c.validate(source);

  const int64_t D = c.d_model, N = c.n_patches(), P = c.patch_size;
  StateDict sd;
  sd["cls_token"] = src.take("cls_token", {1, 1, D});
  const torch::Tensor pos = src.take("pos_embed", {1, 1 + N, D}).reshape({1 + N, D});
  // [CLS, registers (no position), patches]
  sd["pos_embed.W_pos"] = torch::cat({pos.narrow(0, 0, 1), torch::zeros({c.n_registers, D}), pos.narrow(0, 1, N)});
  if (c.n_registers > 0) sd["reg_tokens"] = src.take("register_tokens", {1, c.n_registers, D});
  sd["embed.proj.weight"] = src.take("patch_embed.proj.weight", {D, c.n_channels, P, P});
  sd["embed.proj.bias"] = src.take("patch_embed.proj.bias", {D});
  const bool layer_scale = takeTimmBlocks(src, c, sd);
  sd["ln_final.w"] = src.take("norm.weight", {D});
  sd["ln_final.b"] = src.take("norm.bias", {D});
  src.skipPrefix("mask_token");  // masked-image training only
  src.checkAllUsed();

  out.model = buildModel(c, std::move(sd), weights);
  out.format = "dinov2";
  const fs::path wp(weights);
  out.source = config ? wp.parent_path().string() : weights;
  out.name = wp.stem().string();
  if (layer_scale) out.notes.push_back("LayerScale (ls1/ls2.gamma) folded into the attention and MLP output projections");
  out.notes.push_back("output: x_norm_clstoken (the hub model's output); " + std::to_string(c.n_registers) +
                      " registers; position interpolation " + toString(c.pos_interpolation));
  out.preprocess.height = out.preprocess.width = c.image_size;
  out.preprocess.channels = c.n_channels;
  out.preprocess.interpolation = datasets::Interpolation::Bicubic;
  out.preprocess.mean = c.n_channels == 3 ? kImageNetMean : std::vector<float>(c.n_channels, 0.5f);
  out.preprocess.std = c.n_channels == 3 ? kImageNetStd : std::vector<float>(c.n_channels, 0.5f);
  return out;
}

}  // namespace prisma::io
