// open_clip's model description: read, checked, or inferred (see OpenClipConfig.h).

#include "model/io/OpenClipConfig.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/core/MemoryBudget.h"
#include "model/io/ModelFolder.h"
#include "model/io/WeightFile.h"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

constexpr const char* kConfigFile = "open_clip_config.json";
constexpr const char* kSafetensorsFile = "open_clip_model.safetensors";
constexpr const char* kBinFile = "open_clip_pytorch_model.bin";
// OpenAI's build_model: every CLIP it released has 64-wide heads; QuickGELU throughout.
constexpr int kOpenAiHeadWidth = 64;
// open_clip's CLIPVisionCfg / CLIPTextCfg defaults.
constexpr int kDefaultHeadWidth = 64;
constexpr double kDefaultMlpRatio = 4.0;
constexpr double kDefaultEps = 1e-5;

// Values read under a dotted path ("model_cfg.vision_cfg."), so errors name the field.
struct Reader {
  const nlohmann::json& j;
  std::string path;
  const std::string& source;

  template <typename T>
  T optional(const std::string& key, T fallback) const {
    try {
      return jsonOptional<T>(j, key, fallback, source);
    } catch (const Error&) {
      throw Error(source, path + key, "has the wrong type or is out of range");
    }
  }
  bool present(const std::string& key) const {
    return j.is_object() && j.contains(key) && !j.at(key).is_null();
  }
  // Refuses a feature we do not run when the key holds anything but its default.
  void refuseUnless(const std::string& key, const nlohmann::json& default_value, const std::string& why) const {
    if (!present(key)) return;
    if (j.at(key) == default_value) return;
    throw Error(source, path + key, why + " (value " + j.at(key).dump() + ")");
  }
  void refuseFlag(const std::string& key, const std::string& why) const { refuseUnless(key, false, why); }
  void refuseSet(const std::string& key, const std::string& why) const {
    if (present(key)) throw Error(source, path + key, why + " (value " + j.at(key).dump() + ")");
  }
  int positive(const std::string& key, int fallback) const {
    const int v = optional<int>(key, fallback);
    if (v <= 0) throw Error(source, path + key, "must be positive");
    return v;
  }
  const nlohmann::json& object(const std::string& key, const nlohmann::json& empty) const {
    if (!present(key)) return empty;
    if (!j.at(key).is_object()) throw Error(source, path + key, "is not an object");
    return j.at(key);
  }
};

int headsOf(int width, int head_width, const Reader& r, const std::string& key) {
  if (head_width <= 0 || width % head_width != 0)
    throw Error(r.source, r.path + key, "must divide the width " + std::to_string(width));
  return width / head_width;
}

int mlpOf(int width, const Reader& r) {
  const double ratio = r.optional<double>("mlp_ratio", kDefaultMlpRatio);
  if (!(ratio > 0.0) || ratio * width > (1 << 24)) throw Error(r.source, r.path + "mlp_ratio", "out of range");
  return static_cast<int>(width * ratio);  // open_clip: int(width * mlp_ratio)
}

double epsOf(const Reader& r) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json& norm = r.object("norm_kwargs", kEmpty);
  Reader n{norm, r.path + "norm_kwargs.", r.source};
  const double eps = n.optional<double>("eps", kDefaultEps);
  if (!(eps > 0.0)) throw Error(r.source, r.path + "norm_kwargs.eps", "must be positive");
  return eps;
}

// Block variants open_clip's "custom" block adds: none of them is a HookedViT block.
void refuseCustomBlocks(const Reader& r) {
  r.refuseUnless("block_type", "default", "custom attention blocks are not supported");
  for (const char* flag : {"qk_norm", "scaled_cosine_attn", "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc"})
    r.refuseFlag(flag, "custom attention blocks are not supported");
  r.refuseSet("act_kwargs", "activation arguments are not supported");
}

OpenClipVisionCfg readVision(const Reader& r) {
  r.refuseSet("timm_model_name", "a timm image tower is not supported; load the timm checkpoint itself");
  if (r.present("layers") && r.j.at("layers").is_array())
    throw Error(r.source, r.path + "layers", "a ResNet image tower (layers as a list) is not supported");
  r.refuseFlag("attentional_pool", "attentional pooling is not supported");
  r.refuseSet("ls_init_value", "LayerScale in an open_clip tower is not supported");
  r.refuseUnless("pos_embed_type", "learnable", "only learnable position embeddings are supported");
  r.refuseUnless("pool_type", "tok", "only CLS-token pooling ('tok') is supported");
  refuseCustomBlocks(r);
  OpenClipVisionCfg v;
  if (r.present("image_size") && r.j.at("image_size").is_array()) {
    const auto& s = r.j.at("image_size");
    if (s.size() != 2 || s[0] != s[1]) throw Error(r.source, r.path + "image_size", "only square images are supported");
    Reader inner{nlohmann::json{{"image_size", s[0]}}, r.path, r.source};
    v.image_size = inner.positive("image_size", v.image_size);
  } else {
    v.image_size = r.positive("image_size", v.image_size);
  }
  v.patch_size = r.positive("patch_size", v.patch_size);
  if (v.image_size % v.patch_size != 0)
    throw Error(r.source, r.path + "patch_size", "does not divide image_size " + std::to_string(v.image_size));
  v.width = r.positive("width", v.width);
  v.layers = r.positive("layers", v.layers);
  v.heads = headsOf(v.width, r.positive("head_width", kDefaultHeadWidth), r, "head_width");
  v.mlp = mlpOf(v.width, r);
  v.ln_pre = !r.optional<bool>("no_ln_pre", false);
  v.final_ln_after_pool = r.optional<bool>("final_ln_after_pool", false);
  v.eps = epsOf(r);
  return v;
}

std::string parentOr(const fs::path& p) { return p.parent_path().empty() ? std::string(".") : p.parent_path().string(); }

}  // namespace

bool hasOpenClipNames(const WeightFile& w) {
  return w.has("visual.conv1.weight") && w.has("visual.transformer.resblocks.0.attn.in_proj_weight");
}

std::optional<OpenClipFiles> findOpenClipFiles(const std::string& path) {
  const fs::path p(path);
  if (!fs::exists(p)) return std::nullopt;  // e.g. "mouse:NAME": not a path beside an open_clip config
  const fs::path dir = fs::is_directory(p) ? p : fs::path(parentOr(p));
  const fs::path config = dir / kConfigFile;
  if (fs::is_directory(p)) {
    if (!fs::exists(config)) return std::nullopt;
    for (const char* name : {kSafetensorsFile, kBinFile})
      if (fs::exists(dir / name)) return OpenClipFiles{config.string(), (dir / name).string()};
    const std::string any = findWeightFile(dir.string());
    if (any.empty()) throw Error((dir / kSafetensorsFile).string(), "", "missing: no weight file beside " + std::string(kConfigFile));
    return OpenClipFiles{config.string(), any};
  }
  // A folder may hold a Hugging Face CLIP beside the open_clip files: its weights are not ours.
  const bool ours = p.filename().string().rfind("open_clip", 0) == 0 || !fs::exists(dir / "config.json");
  if (fs::exists(config) && ours) return OpenClipFiles{config.string(), p.string()};
  return std::nullopt;
}

OpenClipConfig readOpenClipConfig(const nlohmann::json& file_json, const std::string& source) {
  if (!file_json.is_object()) throw Error(source, "", "is not a JSON object");
  OpenClipConfig c;
  c.source = source;
  const bool hub = file_json.contains("model_cfg");
  c.field_prefix = hub ? "model_cfg." : "";
  const std::string& prefix = c.field_prefix;
  if (hub && !file_json.at("model_cfg").is_object()) throw Error(source, "model_cfg", "is not an object");
  c.model_cfg = hub ? file_json.at("model_cfg") : file_json;
  c.preprocess_cfg = file_json.value("preprocess_cfg", nlohmann::json::object());
  if (!c.preprocess_cfg.is_object()) throw Error(source, "preprocess_cfg", "is not an object");
  Reader top{c.model_cfg, prefix, source};
  if (!top.present("embed_dim")) throw Error(source, prefix + "embed_dim", "missing");
  c.embed_dim = top.positive("embed_dim", 0);
  c.quick_gelu = top.optional<bool>("quick_gelu", false);
  if (!top.present("vision_cfg")) throw Error(source, prefix + "vision_cfg", "missing");
  static const nlohmann::json kEmpty = nlohmann::json::object();
  c.vision = readVision(Reader{top.object("vision_cfg", kEmpty), prefix + "vision_cfg.", source});
  return c;
}

OpenClipTextCfg readOpenClipTextCfg(const OpenClipConfig& c) {
  const std::string& prefix = c.field_prefix;
  Reader top{c.model_cfg, prefix, c.source};
  if (!top.present("text_cfg")) throw Error(c.source, prefix + "text_cfg", "missing: the model has no text tower");
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const Reader r{top.object("text_cfg", kEmpty), prefix + "text_cfg.", c.source};
  r.refuseSet("hf_model_name", "a Hugging Face text tower is not supported");
  r.refuseUnless("text_arch", "clip", "only the CLIP text transformer is supported");
  r.refuseSet("hf_tokenizer_name", "only the CLIP BPE tokenizer is supported");
  r.refuseUnless("tokenizer_type", "", "only the CLIP BPE tokenizer is supported");
  r.refuseUnless("pool_type", "argmax", "only end-of-text (argmax) pooling is supported");
  r.refuseFlag("embed_cls", "a text CLS embedding is not supported");
  r.refuseFlag("no_causal_mask", "only the causal text transformer is supported");
  r.refuseFlag("final_ln_after_pool", "a final LayerNorm after pooling is not supported in the text tower");
  r.refuseUnless("proj_type", "linear", "only a linear text projection is supported");
  r.refuseSet("ls_init_value", "LayerScale in the text tower is not supported");
  r.refuseUnless("pad_id", 0, "only padding id 0 (the CLIP tokenizer's) is supported");
  refuseCustomBlocks(r);
  OpenClipTextCfg t;
  t.context_length = r.positive("context_length", t.context_length);
  t.vocab_size = r.positive("vocab_size", t.vocab_size);
  t.width = r.positive("width", t.width);
  t.heads = r.positive("heads", t.heads);
  if (t.width % t.heads != 0) throw Error(c.source, r.path + "heads", "must divide the width " + std::to_string(t.width));
  t.layers = r.positive("layers", t.layers);
  t.mlp = mlpOf(t.width, r);
  t.proj_bias = r.optional<bool>("proj_bias", false);
  t.eps = epsOf(r);
  // What the tower's float32 parameters and its [context, context] causal mask take,
  // against --max-memory, before TextTransformer allocates them (token embedding,
  // positions, per layer the attention's 4 W^2 and the MLP's 2 W M, the projection).
  // Doubles: hostile sizes overflow int64.
  const double W = t.width, C = t.context_length;
  const double floats = double(t.vocab_size) * W + C * W + double(t.layers) * (4.0 * W * W + 2.0 * W * t.mlp) +
                        W * c.embed_dim + C * C;
  const double bytes = floats * sizeof(float);
  checkMemoryBudget(bytes >= double(UINT64_MAX) ? UINT64_MAX : static_cast<uint64_t>(bytes), c.source,
                    r.path + "width", "the parameters of this text tower");
  return t;
}

OpenClipConfig inferOpenClipConfig(const WeightFile& w, const LoadOptions& options, std::vector<std::string>& notes) {
  // The counts of resblocks, as OpenAI's build_model finds them.
  auto layers = [&w](const std::string& prefix) {
    int n = 0;
    while (w.has(prefix + std::to_string(n) + ".attn.in_proj_weight")) ++n;
    return n;
  };
  const int width = w.dim("visual.conv1.weight", 0);
  const int patch = w.dim("visual.conv1.weight", 2);
  const int64_t tokens = w.dim("visual.positional_embedding", 0);
  int grid = 0;
  while (static_cast<int64_t>(grid + 1) * (grid + 1) + 1 <= tokens) ++grid;
  if (static_cast<int64_t>(grid) * grid + 1 != tokens)
    throw Error(w.path(), "visual.positional_embedding", "has " + std::to_string(tokens) + " rows: not 1 + a square grid");
  nlohmann::json vision = {{"image_size", grid * patch},
                           {"patch_size", patch},
                           {"width", width},
                           {"layers", layers("visual.transformer.resblocks.")},
                           {"mlp_ratio", double(w.dim("visual.transformer.resblocks.0.mlp.c_fc.weight", 0)) / width}};
  if (options.n_heads) {
    if (*options.n_heads <= 0 || width % *options.n_heads) throw Error(w.path(), "visual.conv1.weight", "--heads must divide the width " + std::to_string(width));
    vision["head_width"] = width / *options.n_heads;
  } else {
    vision["head_width"] = kOpenAiHeadWidth;
  }
  nlohmann::json model_cfg = {{"embed_dim", w.dim("visual.proj", 1)}, {"quick_gelu", true}, {"vision_cfg", vision}};
  if (w.has("token_embedding.weight") && w.has("ln_final.weight")) {
    const int tw = w.dim("ln_final.weight", 0);
    model_cfg["text_cfg"] = {{"context_length", w.dim("positional_embedding", 0)},
                             {"vocab_size", w.dim("token_embedding.weight", 0)},
                             {"width", tw},
                             {"heads", std::max(1, tw / kOpenAiHeadWidth)},
                             {"layers", layers("transformer.resblocks.")},
                             {"mlp_ratio", double(w.dim("transformer.resblocks.0.mlp.c_fc.weight", 0)) / tw}};
  }
  OpenClipConfig c = readOpenClipConfig(model_cfg, w.path());
  c.inferred = true;
  notes.push_back("no open_clip_config.json: sizes inferred from the tensors as OpenAI's build_model does (QuickGELU, " +
                  std::string(options.n_heads ? "heads from --heads" : "64-wide heads") + ")");
  return c;
}

OpenClipConfig openClipConfig(const OpenClipFiles& files, const WeightFile& weights, const LoadOptions& options,
                              std::vector<std::string>& notes) {
  if (files.config_path.empty()) return inferOpenClipConfig(weights, options, notes);
  return readOpenClipConfig(readJsonFile(files.config_path), files.config_path);
}

const std::vector<std::string>& openClipTextPrefixes() {
  static const std::vector<std::string> kPrefixes = {
      "token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection",
      "logit_scale", "logit_bias", "attn_mask",
      // OpenAI's released state dicts carry these three scalars beside the weights.
      "input_resolution", "context_length", "vocab_size"};
  return kPrefixes;
}

}  // namespace prisma::io
