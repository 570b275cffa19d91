#pragma once
// SAE files in the three layouts people have:
//
// - ViT-Prisma's own (its trainer's checkpoints and its pretrained Hugging Face repos):
//   `config.json` (VisionModelSAERunnerConfig.save_config) beside `n_images_N.pt`, a
//   torch.save of {"cfg": <VisionModelSAERunnerConfig instance>, "state_dict": {W_enc,
//   W_dec, b_enc, b_dec}} (or of the state dict alone). The config instance is read as
//   data by the restricted unpickler, with that one class allow-listed: nothing is
//   imported or called, and any other global (os.system, builtins.eval, ...) is refused by
//   name before anything else happens.
// - SAELens: `cfg.json` (d_in, d_sae, hook_name, ...) + `sae_weights.safetensors`.
// - Ours: `sae.json` (sizes, activation, normalisation, the model and hook it was trained
//   on, and its training settings) + `sae.safetensors`.
//
// Every file is checked before use: missing or mistyped config fields, unsupported
// variants (gated or JumpReLU SAEs, transcoders, per-head SAEs) and tensors of the wrong
// shape are prisma::Error naming the file and the field.

#include "model/sae/SparseAutoencoder.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace prisma::sae {

// The class ViT-Prisma pickles as an SAE's `cfg`.
inline constexpr const char* kPrismaSaeConfigClass = "vit_prisma.sae.config.VisionModelSAERunnerConfig";

struct LoadedSae {
  SparseAutoencoder sae{nullptr};
  std::string format;  // "vit-prisma", "saelens", "prisma"
  std::string source;  // the folder or file it came from
  std::vector<std::string> notes;  // what was inferred or assumed, for `prisma sae info`
  nlohmann::json training;  // training settings the file carries (ours), or null
};

// Bundled SAEs: `sae:NAME` is the folder <resources>/sae/NAME, found the way `mouse:NAME`
// is (model/io/ResourcePaths.h: $PRISMA_RESOURCES, an install's share/prisma-explorer,
// the source tree). The folder holds the SAE in our layout and its feature database.
inline constexpr const char* kBundledSaePrefix = "sae:";
inline constexpr const char* kBundledSaeFolder = "sae";
bool isBundledSaeName(const std::string& spec);  // "sae:..."
// The folder `sae:NAME` names (throws prisma::Error listing the bundled ones when there
// is none); any other spec unchanged.
std::string resolveSaePath(const std::string& spec);
// Names of the bundled SAEs in the first resource folder that has any, sorted.
std::vector<std::string> listBundledSaes();

// `path`: `sae:NAME`, a folder in any of the layouts, a ViT-Prisma `.pt`, or a
// `.safetensors` with its config beside it. A ViT-Prisma folder with several checkpoints
// gives the one with the most images.
LoadedSae loadSae(const std::string& path);

// Writes our layout into `dir` (created if needed): sae.json and sae.safetensors, each
// atomically. `training` (may be null) goes into sae.json under "training".
void saveSae(const SparseAutoencoderImpl& sae, const std::string& dir,
             const nlohmann::json& training = nullptr);

// The config of our layout, and back (exposed for tests and the trainer).
nlohmann::json saeConfigJson(const SaeConfig& cfg);
SaeConfig saeConfigFromJson(const nlohmann::json& j, const std::string& source);
// A ViT-Prisma VisionModelSAERunnerConfig (its config.json, or the pickled instance as
// JSON) as our config; `notes` gets what was inferred.
SaeConfig saeConfigFromPrisma(const nlohmann::json& j, const std::string& source, std::vector<std::string>& notes);
// A SAELens cfg.json as our config.
SaeConfig saeConfigFromSaeLens(const nlohmann::json& j, const std::string& source, std::vector<std::string>& notes);

}  // namespace prisma::sae
