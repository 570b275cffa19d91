#pragma once
// Training presets: JSON documents under resources/presets/ (NAME.json), found at run time
// without Qt resources, plus overrides of any field. A preset may start with
// "extends": "NAME" and then list only what differs from that preset.
//
// Where presets are looked up, first match wins:
//   $PRISMA_PRESETS_DIR; <executable>/../share/prisma-explorer/presets (an install);
//   <executable>/presets; the source tree's resources/presets (compiled in, for builds
//   run in place).

#include "model/train/TrainConfig.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace prisma::train {

// The folders searched, in order (existing ones only).
std::vector<std::string> presetDirectories();

struct PresetInfo {
  std::string name;
  std::string description;
  std::string path;
};
// Every NAME.json in the first folder that has presets, sorted by name.
std::vector<PresetInfo> listPresets();

// The dataset named by the preset.json a training run left beside a model: in a bundled
// mouse's folder, a run folder, or above one of its checkpoints. "" when there is none or
// it cannot be read (a model from elsewhere names no dataset).
std::string presetDatasetOf(const std::string& modelPath);

// `nameOrPath`: a preset name ("induction") or a JSON file (a custom preset, or a run's
// preset.json). Resolves "extends" chains. Throws prisma::Error naming the file.
nlohmann::json loadPresetJson(const std::string& nameOrPath);

// Dotted paths to values: {"optimization.lr": 1e-3, "model.n_layers": 2}. A path must
// name a field the document already has (typos are errors); objects are replaced whole.
using Overrides = std::map<std::string, nlohmann::json>;
void applyOverrides(nlohmann::json& preset, const Overrides& overrides, const std::string& source);

// RFC 7386 merge patch, the "extends" rule: objects merge key by key, anything else
// (numbers, lists) replaces; null deletes.
void mergePatch(nlohmann::json& target, const nlohmann::json& patch);

// loadPresetJson + applyOverrides + trainConfigFromJson.
TrainConfig loadPreset(const std::string& nameOrPath, const Overrides& overrides = {});

}  // namespace prisma::train
