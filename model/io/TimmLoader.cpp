// timm VisionTransformer <-> HookedViT (see TimmLoader.h). The constructor arguments are
// resolved the way timm.create_model does -- library defaults, then the architecture's
// own (vit_base_patch16_224 ...), then the hub config's model_args -- and only then
// checked against the tensors, so a wrong config is an error naming config.json.

#include "model/io/TimmLoader.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/LinearLayout.h"
#include "model/io/ExportedWeights.h"
#include "model/io/ConvertedModel.h"
#include "model/io/WeightFile.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <regex>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

// timm.models.vision_transformer defaults.
constexpr int kTimmImageSize = 224;
constexpr int kTimmPatchSize = 16;
constexpr int kTimmEmbedDim = 768;
constexpr int kTimmDepth = 12;
constexpr int kTimmHeads = 12;
constexpr double kTimmMlpRatio = 4.0;
constexpr int kTimmClasses = 1000;
constexpr double kTimmEps = 1e-6;       // partial(nn.LayerNorm, eps=1e-6)
constexpr double kTorchLayerNormEps = 1e-5;  // nn.LayerNorm's default (timm's CLIP variants)
constexpr int kTimmHeadDim = 64;        // every standard size but huge uses 64-wide heads
constexpr size_t kMaxArchitectureDigits = 6;  // patch and image sizes in timm's names
constexpr const char* kExportArchitecture = "vit_base_patch16_224";  // model_args override its sizes
const std::vector<float> kImageNetMean = {0.485f, 0.456f, 0.406f};
const std::vector<float> kImageNetStd = {0.229f, 0.224f, 0.225f};

struct TimmSize {
  const char* name;
  int embed_dim, depth, num_heads;
};
constexpr TimmSize kTimmSizes[] = {{"tiny", 192, 12, 3},   {"small", 384, 12, 6},  {"medium", 512, 12, 8},
                                   {"base", 768, 12, 12},  {"large", 1024, 24, 16}, {"huge", 1280, 32, 16},
                                   {"giant", 1408, 40, 16}};

// The VisionTransformer constructor arguments that shape the network.
struct TimmArgs {
  int img_size = kTimmImageSize, patch_size = kTimmPatchSize, in_chans = 3;
  int embed_dim = kTimmEmbedDim, depth = kTimmDepth, num_heads = kTimmHeads;
  double mlp_ratio = kTimmMlpRatio;
  bool qkv_bias = true, class_token = true, pre_norm = false, final_norm = true, no_embed_class = false;
  bool qk_norm = false;
  int reg_tokens = 0;
  bool dynamic_img_size = false;
  std::string global_pool = "token";
  std::optional<bool> fc_norm;  // timm: None means "global_pool == 'avg'"
  Activation act = Activation::GeluErf;
  double eps = kTimmEps;
  int num_classes = kTimmClasses;
};

const TimmSize* sizeByName(const std::string& arch) {
  for (const auto& s : kTimmSizes)
    if (arch.find(std::string("_") + s.name + "_") != std::string::npos) return &s;
  return nullptr;
}

// vit_base_patch16_224[.tag], vit_large_patch14_clip_336, ...
void applyArchitecture(const std::string& arch, TimmArgs& a, std::vector<std::string>& notes) {
  if (const TimmSize* s = sizeByName(arch)) {
    a.embed_dim = s->embed_dim;
    a.depth = s->depth;
    a.num_heads = s->num_heads;
  }
  static const std::regex kPatch(R"(_patch(\d+))"), kSize(R"(_(\d+)(\.|$))");
  std::smatch m;
  // Digits too long for an int leave the default; the tensors decide in the end anyway.
  auto number = [](const std::string& digits, int fallback) {
    return digits.size() <= kMaxArchitectureDigits ? std::stoi(digits) : fallback;
  };
  if (std::regex_search(arch, m, kPatch)) a.patch_size = number(m[1].str(), a.patch_size);
  if (std::regex_search(arch, m, kSize)) a.img_size = number(m[1].str(), a.img_size);
  if (arch.find("_clip_") != std::string::npos) {
    a.pre_norm = true;
    a.eps = kTorchLayerNormEps;
    if (arch.find("quickgelu") != std::string::npos) a.act = Activation::QuickGelu;
    notes.push_back("timm CLIP architecture: pre_norm, LayerNorm eps 1e-5" +
                    std::string(a.act == Activation::QuickGelu ? ", quick_gelu" : ""));
  }
}

int intArg(const nlohmann::json& j, const char* key, int fallback, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  // img_size / patch_size may be [h, w]: only squares are ViTs HookedViT runs.
  if (it->is_array()) {
    if (it->size() != 2 || !(*it)[0].is_number_integer() || (*it)[0] != (*it)[1])
      throw Error(source, key, "only square sizes are supported");
    return (*it)[0].get<int>();
  }
  return jsonOptional<int>(j, key, fallback, source);
}

TimmArgs argsFromConfig(const nlohmann::json& j, const std::string& source, std::vector<std::string>& notes) {
  TimmArgs a;
  applyArchitecture(jsonOptional<std::string>(j, "architecture", "", source), a, notes);
  const nlohmann::json m = j.value("model_args", nlohmann::json::object());
  if (!m.is_object()) throw Error(source, "model_args", "is not an object");
  const std::string ms = source;  // model_args fields are reported under their own names
  a.img_size = intArg(m, "img_size", a.img_size, ms);
  a.patch_size = intArg(m, "patch_size", a.patch_size, ms);
  a.in_chans = jsonOptional(m, "in_chans", a.in_chans, ms);
  a.embed_dim = jsonOptional(m, "embed_dim", a.embed_dim, ms);
  a.depth = jsonOptional(m, "depth", a.depth, ms);
  a.num_heads = jsonOptional(m, "num_heads", a.num_heads, ms);
  a.mlp_ratio = jsonOptional(m, "mlp_ratio", a.mlp_ratio, ms);
  a.qkv_bias = jsonOptional(m, "qkv_bias", a.qkv_bias, ms);
  a.qk_norm = jsonOptional(m, "qk_norm", a.qk_norm, ms);
  a.class_token = jsonOptional(m, "class_token", a.class_token, ms);
  a.pre_norm = jsonOptional(m, "pre_norm", a.pre_norm, ms);
  a.final_norm = jsonOptional(m, "final_norm", a.final_norm, ms);
  a.no_embed_class = jsonOptional(m, "no_embed_class", a.no_embed_class, ms);
  a.reg_tokens = jsonOptional(m, "reg_tokens", a.reg_tokens, ms);
  a.dynamic_img_size = jsonOptional(m, "dynamic_img_size", a.dynamic_img_size, ms);
  if (m.contains("fc_norm") && !m.at("fc_norm").is_null()) a.fc_norm = jsonOptional(m, "fc_norm", false, ms);
  if (m.contains("act_layer") && m.at("act_layer").is_string())
    a.act = activationFromName(m.at("act_layer").get<std::string>(), source, "act_layer");
  a.global_pool = jsonOptional(j, "global_pool", a.global_pool, source);
  a.global_pool = jsonOptional(m, "global_pool", a.global_pool, ms);
  a.num_classes = jsonOptional(j.value("pretrained_cfg", nlohmann::json::object()), "num_classes", a.num_classes, source);
  a.num_classes = jsonOptional(j, "num_classes", a.num_classes, source);
  a.num_classes = jsonOptional(m, "num_classes", a.num_classes, ms);
  return a;
}

int countBlocks(const WeightFile& src) {
  int n = 0;
  while (src.has(hookName(n, "norm1.weight"))) ++n;
  return n;
}

// The shape of a config-less timm file, read off its tensors; what tensors cannot say
// (heads, activation, eps) is guessed and noted.
TimmArgs inferArgs(const WeightFile& src, const LoadOptions& options, std::vector<std::string>& notes) {
  TimmArgs a;
  const auto pw = src.shape("patch_embed.proj.weight");
  if (pw.size() != 4 || pw[2] != pw[3]) throw Error(src.path(), "patch_embed.proj.weight", "is not a square convolution kernel");
  a.embed_dim = src.dim("patch_embed.proj.weight", 0);
  a.in_chans = src.dim("patch_embed.proj.weight", 1);
  a.patch_size = src.dim("patch_embed.proj.weight", 2);
  a.class_token = src.has("cls_token");
  if (src.has("reg_token")) a.reg_tokens = src.dim("reg_token", 1);
  const auto pos = src.shape("pos_embed");
  if (pos.size() != 3) throw Error(src.path(), "pos_embed", "is not [1, tokens, dim]");
  int64_t patches = pos[1] - (a.class_token ? 1 : 0) - a.reg_tokens;
  if ((a.class_token || a.reg_tokens > 0) && squareSide(patches) == 0 && squareSide(pos[1]) > 0) {
    a.no_embed_class = true;
    patches = pos[1];
  }
  a.img_size = inferredImageSize(patches, a.patch_size, src.path(), "pos_embed");
  a.depth = countBlocks(src);
  const int mlp = src.dim("blocks.0.mlp.fc1.weight", 0);
  a.mlp_ratio = static_cast<double>(mlp) / a.embed_dim;
  a.qkv_bias = src.has("blocks.0.attn.qkv.bias");
  a.qk_norm = src.has("blocks.0.attn.q_norm.weight");
  a.pre_norm = src.has("norm_pre.weight");
  a.fc_norm = src.has("fc_norm.weight");
  a.final_norm = src.has("norm.weight") || *a.fc_norm;
  a.global_pool = src.has("attn_pool.latent") ? "map" : a.class_token && !*a.fc_norm ? "token" : "avg";
  a.num_classes = src.has("head.weight") ? src.dim("head.weight", 0) : 0;

  const std::string file = fs::path(src.path()).filename().string();
  std::string heads_from;
  if (options.n_heads) {
    a.num_heads = *options.n_heads;
    heads_from = "as given";
  } else if (const TimmSize* s = sizeByName("_" + file); s && s->embed_dim == a.embed_dim) {
    a.num_heads = s->num_heads;
    heads_from = std::string("timm's ViT-") + s->name + " (from the file name)";
  } else {
    a.num_heads = a.embed_dim % kTimmHeadDim == 0 ? a.embed_dim / kTimmHeadDim : 1;
    heads_from = "assuming timm's usual 64-wide heads; the tensors do not store the head count, "
                 "so pass a config.json (or --heads) if that is wrong";
  }
  notes.push_back("no config.json: shape inferred from the tensors: image " + std::to_string(a.img_size) + ", patch " +
                  std::to_string(a.patch_size) + ", " + std::to_string(a.in_chans) + " channels, d_model " +
                  std::to_string(a.embed_dim) + ", " + std::to_string(a.depth) + " layers, MLP " +
                  std::to_string(mlp) + ", " + (a.class_token ? "CLS token" : "no CLS token") + ", pooling " +
                  a.global_pool + ", " + std::to_string(a.num_classes) + " classes");
  notes.push_back(std::to_string(a.num_heads) + " heads: " + heads_from);
  notes.push_back("assumed GELU (erf) and LayerNorm eps 1e-6, timm's defaults");
  return a;
}

ViTConfig configFromArgs(const TimmArgs& a, const std::string& source) {
  if (a.reg_tokens < 0) throw Error(source, "reg_tokens", "must be non-negative");
  if (a.qk_norm) throw Error(source, "qk_norm", "query/key normalisation is not supported");
  if (!a.final_norm) throw Error(source, "final_norm", "a ViT without a final LayerNorm is not supported");
  const bool fc_norm = a.fc_norm.value_or(a.global_pool == "avg");
  if (a.global_pool != "token" && a.global_pool != "avg" && a.global_pool != "map")
    throw Error(source, "global_pool", "pooling '" + a.global_pool + "' is not supported (token, avg or map)");
  if (a.global_pool == "avg" && a.reg_tokens > 0)
    throw Error(source, "global_pool", "'avg' pooling beside register tokens is not supported");
  if (a.global_pool == "avg" && a.class_token)
    throw Error(source, "global_pool",
                "'avg' pooling beside a CLS token averages the patch tokens only, which HookedViT's mean pooling "
                "(over every token) does not reproduce");
  if (a.num_heads <= 0 || a.embed_dim % a.num_heads != 0)
    throw Error(source, "num_heads", std::to_string(a.num_heads) + " heads do not divide embed_dim " +
                                         std::to_string(a.embed_dim));
  ViTConfig c;
  c.image_size = a.img_size;
  c.patch_size = a.patch_size;
  c.n_channels = a.in_chans;
  c.d_model = a.embed_dim;
  c.n_heads = a.num_heads;
  c.d_head = a.embed_dim / a.num_heads;
  if (a.embed_dim <= 0) throw Error(source, "embed_dim", "must be positive, got " + std::to_string(a.embed_dim));
  const double mlp_width = a.embed_dim * a.mlp_ratio;  // timm: int(embed_dim * mlp_ratio)
  if (!(mlp_width >= 0.0 && mlp_width <= std::numeric_limits<int>::max()))
    throw Error(source, "mlp_ratio", "gives an MLP width out of range");
  c.d_mlp = static_cast<int>(mlp_width);
  c.n_layers = a.depth;
  c.n_classes = a.num_classes;
  c.return_type = a.num_classes > 0 ? ReturnType::Logits : ReturnType::PreLogits;
  c.normalization = Normalization::LN;
  c.eps = a.eps;
  c.activation = a.act;
  c.cls_token = a.class_token;
  c.pooling = a.global_pool == "token" ? Pooling::Cls : a.global_pool == "map" ? Pooling::Map : Pooling::Mean;
  c.n_registers = a.reg_tokens;
  // timm's dynamic_img_size: resample_abs_pos_embed (bicubic, antialiased) for other sizes.
  c.pos_interpolation = a.dynamic_img_size ? PosInterpolation::BicubicAntialias : PosInterpolation::None;
  c.final_ln_after_pool = fc_norm;
  c.ln_pre = a.pre_norm;
  c.patch_bias = !a.pre_norm;  // timm: PatchEmbed(bias=not pre_norm)
  c.qkv_bias = a.qkv_bias;
  c.validate(source);
  return c;
}

datasets::Preprocess timmPreprocess(const nlohmann::json* config, const ViTConfig& cfg, const std::string& source,
                                    std::vector<std::string>& notes) {
  datasets::Preprocess p;
  p.height = p.width = cfg.image_size;
  p.channels = cfg.n_channels;
  p.interpolation = datasets::Interpolation::Bicubic;
  p.mean = cfg.n_channels == 3 ? kImageNetMean : std::vector<float>(cfg.n_channels, 0.5f);
  p.std = cfg.n_channels == 3 ? kImageNetStd : std::vector<float>(cfg.n_channels, 0.5f);
  const nlohmann::json pc = config ? config->value("pretrained_cfg", nlohmann::json()) : nlohmann::json();
  if (!pc.is_object()) {
    notes.push_back("no pretrained_cfg: bicubic resize to " + std::to_string(cfg.image_size) +
                    ", ImageNet mean/std (timm's defaults)");
    return p;
  }
  p.mean = jsonOptional(pc, "mean", p.mean, source);
  p.std = jsonOptional(pc, "std", p.std, source);
  try {
    p.interpolation = datasets::interpolationFromString(jsonOptional<std::string>(pc, "interpolation", "bicubic", source));
  } catch (const std::invalid_argument& e) {
    throw Error(source, "pretrained_cfg.interpolation", e.what());
  }
  const auto input = jsonOptional(pc, "input_size", std::vector<int>{}, source);
  if (input.size() == 3) {
    p.height = input[1];
    p.width = input[2];
    if (const std::string problem = datasets::inputSizeProblem(p.height, p.width); !problem.empty())
      throw Error(source, "pretrained_cfg.input_size", problem);
  }
  if (jsonOptional(pc, "crop_pct", 1.0, source) != 1.0)
    notes.push_back("timm resizes to input_size / crop_pct and centre-crops; here the image is resized to " +
                    std::to_string(p.width) + "x" + std::to_string(p.height) + " directly");
  if (p.mean.size() != static_cast<size_t>(cfg.n_channels) || p.std.size() != p.mean.size())
    throw Error(source, "pretrained_cfg.mean", "needs one value per channel");
  for (float s : p.std)
    if (!(s > 0.0f)) throw Error(source, "pretrained_cfg.std", "must be positive");
  return p;
}

std::string timmActivationName(Activation a) {
  switch (a) {
    case Activation::GeluErf: return "gelu";
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::QuickGelu: return "quick_gelu";
    case Activation::Relu: return "relu";
  }
  return "gelu";
}

}  // namespace

bool isTimmConfig(const nlohmann::json& j) {
  return j.is_object() && j.contains("architecture") && (j.contains("model_args") || j.contains("pretrained_cfg"));
}

bool hasTimmNames(const WeightFile& w) {
  return w.has("patch_embed.proj.weight") && w.has("pos_embed") && w.has("blocks.0.attn.qkv.weight");
}

bool takeTimmBlocks(WeightFile& src, const ViTConfig& cfg, StateDict& sd) {
  const int64_t D = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head, M = cfg.d_mlp;
  bool layer_scale = false;
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string t = blockPrefix(l);
    const std::string hk = t;
    sd[hk + "ln1.w"] = src.take(t + "norm1.weight", {D});
    sd[hk + "ln1.b"] = src.take(t + "norm1.bias", {D});
    // Rows of the fused projection: (q|k|v, head, d_head).
    const torch::Tensor qkv = src.take(t + "attn.qkv.weight", {3 * D, D});
    const torch::Tensor qkv_b = cfg.qkv_bias ? src.take(t + "attn.qkv.bias", {3 * D}) : torch::Tensor();
    const char* which[] = {"Q", "K", "V"};
    for (int i = 0; i < 3; ++i) {
      sd[hk + "attn.W_" + which[i]] = headsIn(qkv.slice(0, i * D, (i + 1) * D), H, dh);
      if (qkv_b.defined()) sd[hk + "attn.b_" + which[i]] = qkv_b.slice(0, i * D, (i + 1) * D).reshape({H, dh});
    }
    torch::Tensor proj_w = src.take(t + "attn.proj.weight", {D, D}), proj_b = src.take(t + "attn.proj.bias", {D});
    torch::Tensor fc2_w = src.take(t + "mlp.fc2.weight", {D, M}), fc2_b = src.take(t + "mlp.fc2.bias", {D});
    // LayerScale multiplies a branch's output per channel: the same as scaling the rows
    // of the projection that produces it.
    if (src.has(t + "ls1.gamma")) {
      const torch::Tensor g = src.take(t + "ls1.gamma", {D});
      proj_w = proj_w * g.unsqueeze(1);
      proj_b = proj_b * g;
      layer_scale = true;
    }
    if (src.has(t + "ls2.gamma")) {
      const torch::Tensor g = src.take(t + "ls2.gamma", {D});
      fc2_w = fc2_w * g.unsqueeze(1);
      fc2_b = fc2_b * g;
      layer_scale = true;
    }
    sd[hk + "attn.W_O"] = headsOut(proj_w, H, dh);
    sd[hk + "attn.b_O"] = proj_b;
    sd[hk + "ln2.w"] = src.take(t + "norm2.weight", {D});
    sd[hk + "ln2.b"] = src.take(t + "norm2.bias", {D});
    sd[hk + "mlp.W_in"] = src.take(t + "mlp.fc1.weight", {M, D}).t();
    sd[hk + "mlp.b_in"] = src.take(t + "mlp.fc1.bias", {M});
    sd[hk + "mlp.W_out"] = fc2_w.t();
    sd[hk + "mlp.b_out"] = fc2_b;
  }
  return layer_scale;
}

LoadedModel loadTimm(const std::string& weights, const nlohmann::json* config, const std::string& config_path,
                     const LoadOptions& options) {
  LoadedModel out;
  const std::string source = config ? config_path : weights;
  WeightFile src = WeightFile::openCheckpoint(weights, config ? config_path : kShapesFromEmbeddings, out.notes);
  TimmArgs args = config ? argsFromConfig(*config, config_path, out.notes) : inferArgs(src, options, out.notes);
  if (config && options.n_heads) args.num_heads = *options.n_heads;
  ViTConfig cfg = configFromArgs(args, source);

  const int64_t D = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head, M = cfg.d_mlp;
  const int64_t C = cfg.n_channels, P = cfg.patch_size, T = cfg.n_tokens(), N = cfg.n_patches();
  StateDict sd;
  if (cfg.cls_token) sd["cls_token"] = src.take("cls_token", {1, 1, D});
  if (args.no_embed_class && cfg.n_prefix() > 0) {
    // The CLS token and registers get no position in timm: zero rows in HookedViT's table.
    sd["pos_embed.W_pos"] = torch::cat({torch::zeros({cfg.n_prefix(), D}), src.take("pos_embed", {1, N, D}).reshape({N, D})});
  } else {
    sd["pos_embed.W_pos"] = src.take("pos_embed", {1, T, D}).reshape({T, D});
  }
  if (cfg.n_registers > 0) sd["reg_tokens"] = src.take("reg_token", {1, cfg.n_registers, D});
  sd["embed.proj.weight"] = src.take("patch_embed.proj.weight", {D, C, P, P});
  if (cfg.patch_bias) sd["embed.proj.bias"] = src.take("patch_embed.proj.bias", {D});
  if (cfg.ln_pre) {
    sd["ln_pre.w"] = src.take("norm_pre.weight", {D});
    sd["ln_pre.b"] = src.take("norm_pre.bias", {D});
  }
  const bool layer_scale = takeTimmBlocks(src, cfg, sd);
  if (layer_scale) out.notes.push_back("LayerScale (ls1/ls2.gamma) folded into the attention and MLP output projections");
  const std::string final_norm = cfg.final_ln_after_pool ? "fc_norm" : "norm";
  sd["ln_final.w"] = src.take(final_norm + ".weight", {D});
  sd["ln_final.b"] = src.take(final_norm + ".bias", {D});
  if (cfg.pooling == Pooling::Map) {
    // AttentionPoolLatent: q [D, D] and kv [2·D, D] with rows (k|v, head, d_head).
    const std::string a = "attn_pool.";
    sd[a + "latent"] = src.take(a + "latent", {1, 1, D});
    sd[a + "W_Q"] = headsIn(src.take(a + "q.weight", {D, D}), H, dh);
    sd[a + "b_Q"] = src.take(a + "q.bias", {D}).reshape({H, dh});
    const torch::Tensor kv = src.take(a + "kv.weight", {2 * D, D}), kv_b = src.take(a + "kv.bias", {2 * D});
    sd[a + "W_K"] = headsIn(kv.slice(0, 0, D), H, dh);
    sd[a + "W_V"] = headsIn(kv.slice(0, D, 2 * D), H, dh);
    sd[a + "b_K"] = kv_b.slice(0, 0, D).reshape({H, dh});
    sd[a + "b_V"] = kv_b.slice(0, D, 2 * D).reshape({H, dh});
    sd[a + "W_O"] = headsOut(src.take(a + "proj.weight", {D, D}), H, dh);
    sd[a + "b_O"] = src.take(a + "proj.bias", {D});
    sd[a + "ln.w"] = src.take(a + "norm.weight", {D});
    sd[a + "ln.b"] = src.take(a + "norm.bias", {D});
    sd[a + "mlp.W_in"] = src.take(a + "mlp.fc1.weight", {M, D}).t();
    sd[a + "mlp.b_in"] = src.take(a + "mlp.fc1.bias", {M});
    sd[a + "mlp.W_out"] = src.take(a + "mlp.fc2.weight", {D, M}).t();
    sd[a + "mlp.b_out"] = src.take(a + "mlp.fc2.bias", {D});
  }
  if (cfg.n_classes > 0) {
    sd["head.W_H"] = src.take("head.weight", {cfg.n_classes, D}).t();
    sd["head.b_H"] = src.take("head.bias", {cfg.n_classes});
  }
  src.checkAllUsed();

  if (config) {
    const nlohmann::json pc = config->value("pretrained_cfg", nlohmann::json::object());
    if (pc.is_object() && pc.contains("label_names"))
      cfg.class_names = jsonOptional(pc, "label_names", std::vector<std::string>{}, config_path);
    cfg.validate(config_path);
  }
  addImageNetNamesIfMissing(cfg, out.notes);
  out.model = buildModel(cfg, std::move(sd), weights);
  out.format = "timm";
  const fs::path wp(weights);
  out.source = config ? wp.parent_path().string() : weights;
  out.name = config ? jsonOptional<std::string>(*config, "architecture", wp.parent_path().filename().string(), config_path)
                    : wp.stem().string();
  out.preprocess = timmPreprocess(config, cfg, source, out.notes);
  return out;
}

std::string timmIncompatibility(const ViTConfig& c) {
  if (c.normalization == Normalization::None) return "it has no LayerNorm, and timm's ViT always normalises";
  if (c.legacy_post_ln) return "its blocks are post-LN (the early ViT-Prisma mice); timm's ViT is pre-LN";
  if (c.mlp_hidden_norm) return "it normalises the MLP's hidden layer, which timm's ViT does not";
  if (c.attn_only) return "it is attention-only; timm's ViT blocks always have an MLP";
  if (c.pooling == Pooling::Mean && c.cls_token)
    return "it averages every token including CLS; timm's 'avg' pooling skips the CLS token";
  if (c.normalize_output) return "it L2-normalises its output, which timm's ViT does not";
  if (c.n_registers > 0 || c.pooling == Pooling::Map)
    return "register tokens and attention pooling are not written by the timm exporter yet";
  if (std::abs(c.eps - kTimmEps) > kTimmEps * 1e-6)
    return "its LayerNorm eps is " + nlohmann::json(c.eps).dump() + "; timm's ViT fixes eps at 1e-6";
  if (c.n_heads * c.d_head != c.d_model) return "n_heads x d_head differs from d_model";
  if (static_cast<int>(c.d_model * (static_cast<double>(c.d_mlp) / c.d_model)) != c.d_mlp)
    return "its MLP width is not expressible as an mlp_ratio";
  return "";
}

nlohmann::json timmConfigJson(const ViTConfig& c, const datasets::Preprocess& pre) {
  const std::string pool = c.pooling == Pooling::Cls ? "token" : "avg";
  nlohmann::json args = {{"img_size", c.image_size},
                         {"patch_size", c.patch_size},
                         {"in_chans", c.n_channels},
                         {"embed_dim", c.d_model},
                         {"depth", c.n_layers},
                         {"num_heads", c.n_heads},
                         {"mlp_ratio", static_cast<double>(c.d_mlp) / c.d_model},
                         {"qkv_bias", c.qkv_bias},
                         {"class_token", c.cls_token},
                         {"global_pool", pool},
                         {"fc_norm", c.final_ln_after_pool},
                         {"pre_norm", c.ln_pre},
                         {"act_layer", timmActivationName(c.activation)}};
  nlohmann::json pc = {{"input_size", {pre.channels, pre.height, pre.width}},
                       {"interpolation", datasets::toString(pre.interpolation)},
                       {"mean", pre.mean},
                       {"std", pre.std},
                       {"crop_pct", 1.0},
                       {"num_classes", c.n_classes}};
  if (!c.class_names.empty()) pc["label_names"] = c.class_names;
  return {{"architecture", kExportArchitecture},
          {"num_classes", c.n_classes},
          {"num_features", c.d_model},
          {"global_pool", pool},
          {"model_args", args},
          {"pretrained_cfg", pc}};
}

StateDict timmStateDict(const HookedViTImpl& m) {
  const ViTConfig& c = m.cfg();
  if (const std::string why = timmIncompatibility(c); !why.empty()) throw Error("export", "timm", why);
  torch::NoGradGuard no_grad;
  const ExportedWeights ours(m);
  auto get = [&](const std::string& name) { return ours.get(name); };
  auto lnW = [&](const std::string& ln) { return ours.lnWeight(ln); };
  auto lnB = [&](const std::string& ln) { return ours.lnBias(ln); };
  auto isZero = [](const torch::Tensor& t) { return t.abs().max().item<double>() == 0.0; };
  StateDict sd;
  if (c.cls_token) sd["cls_token"] = get("cls_token");
  sd["pos_embed"] = get("pos_embed.W_pos").unsqueeze(0);
  sd["patch_embed.proj.weight"] = get("embed.proj.weight");
  if (c.ln_pre) {
    // timm builds PatchEmbed(bias=not pre_norm).
    if (ours.has("embed.proj.bias") && !isZero(get("embed.proj.bias")))
      throw Error("export", "timm", "timm's pre_norm ViT has no patch-embedding bias, but this model's is non-zero");
    sd["norm_pre.weight"] = lnW("ln_pre");
    sd["norm_pre.bias"] = lnB("ln_pre");
  } else {
    sd["patch_embed.proj.bias"] = ours.getOrZeros("embed.proj.bias");
  }
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string hk = blockPrefix(l);
    sd[hk + "norm1.weight"] = lnW(hk + "ln1");
    sd[hk + "norm1.bias"] = lnB(hk + "ln1");
    sd[hk + "attn.qkv.weight"] = torch::cat({linearFromHeadsIn(get(hk + "attn.W_Q")), linearFromHeadsIn(get(hk + "attn.W_K")),
                                             linearFromHeadsIn(get(hk + "attn.W_V"))})
                                     .contiguous();
    // A model without qkv_bias has no such parameters (Attention.h), so none to lose.
    if (c.qkv_bias)
      sd[hk + "attn.qkv.bias"] = torch::cat(
          {get(hk + "attn.b_Q").reshape({-1}), get(hk + "attn.b_K").reshape({-1}), get(hk + "attn.b_V").reshape({-1})});
    sd[hk + "attn.proj.weight"] = linearFromHeadsOut(get(hk + "attn.W_O")).contiguous();
    sd[hk + "attn.proj.bias"] = get(hk + "attn.b_O");
    sd[hk + "norm2.weight"] = lnW(hk + "ln2");
    sd[hk + "norm2.bias"] = lnB(hk + "ln2");
    sd[hk + "mlp.fc1.weight"] = get(hk + "mlp.W_in").t().contiguous();
    sd[hk + "mlp.fc1.bias"] = get(hk + "mlp.b_in");
    sd[hk + "mlp.fc2.weight"] = get(hk + "mlp.W_out").t().contiguous();
    sd[hk + "mlp.fc2.bias"] = get(hk + "mlp.b_out");
  }
  const std::string final_norm = c.final_ln_after_pool ? "fc_norm" : "norm";
  sd[final_norm + ".weight"] = lnW("ln_final");
  sd[final_norm + ".bias"] = lnB("ln_final");
  if (c.n_classes > 0) {
    sd["head.weight"] = get("head.W_H").t().contiguous();
    sd["head.bias"] = get("head.b_H");
  }
  return sd;
}

}  // namespace prisma::io
