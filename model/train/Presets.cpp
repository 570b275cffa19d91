// Finding, reading and overriding training presets. model/ has no Qt, so no Qt resource
// system: presets are plain files next to the executable or in the source tree.

#include "model/train/Presets.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/train/RunFolderWriter.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#ifndef PRISMA_SOURCE_PRESETS_DIR
#define PRISMA_SOURCE_PRESETS_DIR ""
#endif

namespace prisma::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPresetsEnv = "PRISMA_PRESETS_DIR";
constexpr const char* kInstalledRelative = "../share/prisma-explorer/presets";
constexpr const char* kBesideExecutable = "presets";
constexpr const char* kExtendsKey = "extends";
// "extends" chains deeper than this are surely a mistake (or a cycle we missed).
constexpr int kMaxExtendsDepth = 8;
// How far above a model's folder its run's preset.json may sit: a run folder holds the
// final model, a checkpoint sits in <run>/checkpoints/<name>.
constexpr int kPresetLevels = 3;

fs::path executableDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

bool looksLikePath(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() > 5 && s.substr(s.size() - 5) == ".json");
}

std::string presetPath(const std::string& name) {
  for (const auto& dir : presetDirectories()) {
    const fs::path p = fs::path(dir) / (name + ".json");
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  std::string known;
  for (const auto& info : listPresets()) known += (known.empty() ? "" : ", ") + info.name;
  throw Error(name, "preset",
              "no such preset (known: " + (known.empty() ? std::string("none found") : known) +
                  "; or give a path to a .json file)");
}

nlohmann::json loadResolved(const std::string& nameOrPath, int depth, std::vector<std::string>& chain) {
  const std::string path = looksLikePath(nameOrPath) ? nameOrPath : presetPath(nameOrPath);
  if (depth > kMaxExtendsDepth) throw Error(path, kExtendsKey, "the chain of presets is too deep");
  if (std::find(chain.begin(), chain.end(), path) != chain.end())
    throw Error(path, kExtendsKey, "presets extend each other in a cycle");
  chain.push_back(path);
  nlohmann::json doc = readJsonFile(path);
  if (!doc.is_object()) throw Error(path, "", "a preset must be a JSON object");
  auto it = doc.find(kExtendsKey);
  if (it == doc.end()) return doc;
  if (!it->is_string()) throw Error(path, kExtendsKey, "must name a preset");
  std::string base = it->get<std::string>();
  // A relative path in "extends" is relative to the file that says it.
  if (looksLikePath(base) && fs::path(base).is_relative())
    base = (fs::path(path).parent_path() / base).string();
  nlohmann::json merged = loadResolved(base, depth + 1, chain);
  doc.erase(kExtendsKey);
  mergePatch(merged, doc);
  return merged;
}

}  // namespace

std::vector<std::string> presetDirectories() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv(kPresetsEnv); env && *env) candidates.emplace_back(env);
  const fs::path exe = executableDir();
  if (!exe.empty()) {
    candidates.push_back(exe / kInstalledRelative);
    candidates.push_back(exe / kBesideExecutable);
  }
  if (*PRISMA_SOURCE_PRESETS_DIR) candidates.emplace_back(PRISMA_SOURCE_PRESETS_DIR);
  std::vector<std::string> out;
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) out.push_back(fs::weakly_canonical(c, ec).string());
  }
  return out;
}

std::vector<PresetInfo> listPresets() {
  for (const auto& dir : presetDirectories()) {
    std::vector<PresetInfo> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() != ".json") continue;
      PresetInfo info{entry.path().stem().string(), "", entry.path().string()};
      try {
        const auto doc = readJsonFile(info.path);
        if (doc.is_object() && doc.contains("description") && doc["description"].is_string())
          info.description = doc["description"].get<std::string>();
      } catch (const Error&) {
        info.description = "(unreadable)";
      }
      out.push_back(std::move(info));
    }
    if (!out.empty()) {
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
      return out;
    }
  }
  return {};
}

std::string presetDatasetOf(const std::string& modelPath) {
  std::error_code ec;
  fs::path dir = fs::path(modelPath);
  if (!fs::is_directory(dir, ec)) dir = dir.parent_path();
  for (int level = 0; level < kPresetLevels && !dir.empty(); ++level, dir = dir.parent_path()) {
    const fs::path preset = dir / kPresetFile;
    if (!fs::exists(preset, ec)) continue;
    try {
      const nlohmann::json j = readJsonFile(preset.string());
      if (j.contains("dataset") && j["dataset"].is_object())
        return jsonOptional<std::string>(j["dataset"], "name", "", preset.string());
      if (j.contains("dataset") && j["dataset"].is_string()) return j["dataset"].get<std::string>();
    } catch (const std::exception&) {
      // An unreadable preset names no dataset.
    }
    return {};
  }
  return {};
}

nlohmann::json loadPresetJson(const std::string& nameOrPath) {
  std::vector<std::string> chain;
  return loadResolved(nameOrPath, 0, chain);
}

void mergePatch(nlohmann::json& target, const nlohmann::json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = nlohmann::json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) target.erase(it.key());
    else mergePatch(target[it.key()], *it);
  }
}

void applyOverrides(nlohmann::json& preset, const Overrides& overrides, const std::string& source) {
  for (const auto& [path, value] : overrides) {
    if (path.empty()) throw Error(source, "", "an override needs a field path");
    nlohmann::json* node = &preset;
    size_t begin = 0;
    while (true) {
      const size_t dot = path.find('.', begin);
      const std::string key = path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
      if (key.empty()) throw Error(source, path, "is not a valid field path");
      if (!node->is_object()) throw Error(source, path, "'" + key + "' is inside a value that is not an object");
      if (dot == std::string::npos) {
        (*node)[key] = value;  // unknown keys are caught by trainConfigFromJson
        break;
      }
      node = &(*node)[key];
      if (node->is_null()) *node = nlohmann::json::object();
      begin = dot + 1;
    }
  }
}

TrainConfig loadPreset(const std::string& nameOrPath, const Overrides& overrides) {
  nlohmann::json doc = loadPresetJson(nameOrPath);
  applyOverrides(doc, overrides, nameOrPath);
  return trainConfigFromJson(doc, looksLikePath(nameOrPath) ? nameOrPath : nameOrPath + " preset");
}

}  // namespace prisma::train
