#include "model/zoo/ZooManifest.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/ResourcePaths.h"

#include <nlohmann/json.hpp>

#include <set>

namespace prisma::zoo {

namespace {

constexpr const char* kFormat = "prisma-zoo";
constexpr int kFormatVersion = 1;
constexpr const char* kManifestRelative = "zoo/zoo.json";

void allowOnly(const nlohmann::json& j, const std::set<std::string>& keys, const std::string& path,
               const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!keys.count(it.key())) throw Error(path, where + it.key(), "unknown key");
}

template <typename T>
T get(const nlohmann::json& j, const std::string& key, const T& fallback, const std::string& path,
      const std::string& where, bool required = false) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) throw Error(path, where + key, "missing");
    return fallback;
  }
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(path, where + key, "has the wrong type");
  }
}

train::Overrides overridesOf(const nlohmann::json& j, const std::string& path, const std::string& where) {
  train::Overrides o;
  auto it = j.find("overrides");
  if (it == j.end()) return o;
  if (!it->is_object()) throw Error(path, where + "overrides", "must be an object of dotted paths");
  for (auto v = it->begin(); v != it->end(); ++v) o[v.key()] = v.value();
  return o;
}

}  // namespace

const ZooEntry* ZooManifest::find(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

ZooManifest readZooManifest(const std::string& path) {
  const nlohmann::json doc = readJsonFile(path);
  if (!doc.is_object()) throw Error(path, "", "is not a JSON object");
  allowOnly(doc, {"format", "format_version", "description", "families"}, path, "");
  if (get<std::string>(doc, "format", "", path, "", true) != kFormat)
    throw Error(path, "format", std::string("must be \"") + kFormat + "\"");
  if (get<int>(doc, "format_version", 0, path, "", true) != kFormatVersion)
    throw Error(path, "format_version", "unsupported version");
  const auto families = doc.find("families");
  if (families == doc.end() || !families->is_array()) throw Error(path, "families", "must be a list");

  ZooManifest m;
  m.path = path;
  std::set<std::string> names;
  for (size_t f = 0; f < families->size(); ++f) {
    const auto& fam = (*families)[f];
    const std::string fw = "families[" + std::to_string(f) + "].";
    if (!fam.is_object()) throw Error(path, fw, "must be an object");
    allowOnly(fam, {"name", "preset", "dataset_label", "overrides", "reductions", "mice"}, path, fw);
    const std::string family = get<std::string>(fam, "name", "", path, fw, true);
    const std::string preset = get<std::string>(fam, "preset", "", path, fw, true);
    const std::string label = get<std::string>(fam, "dataset_label", family, path, fw);
    const train::Overrides famOverrides = overridesOf(fam, path, fw);
    const auto reductions = get<std::vector<std::string>>(fam, "reductions", {}, path, fw);
    const auto mice = fam.find("mice");
    if (mice == fam.end() || !mice->is_array()) throw Error(path, fw + "mice", "must be a list");
    for (size_t i = 0; i < mice->size(); ++i) {
      const auto& mj = (*mice)[i];
      const std::string mw = fw + "mice[" + std::to_string(i) + "].";
      if (!mj.is_object()) throw Error(path, mw, "must be an object");
      allowOnly(mj, {"name", "overrides", "seed", "checkpoint_series", "reductions", "note", "reference_accuracy"},
                path, mw);
      ZooEntry e;
      e.name = get<std::string>(mj, "name", "", path, mw, true);
      if (e.name.empty() || e.name.find_first_of("/: ") != std::string::npos)
        throw Error(path, mw + "name", "must be a plain name without '/', ':' or spaces");
      if (!names.insert(e.name).second) throw Error(path, mw + "name", "duplicate mouse '" + e.name + "'");
      e.family = family;
      e.dataset_label = label;
      e.preset = preset;
      e.overrides = famOverrides;
      for (const auto& [k, v] : overridesOf(mj, path, mw)) e.overrides[k] = v;
      const auto seed = get<int64_t>(mj, "seed", 0, path, mw);
      if (seed < 0) throw Error(path, mw + "seed", "must be non-negative");
      e.seed = static_cast<uint64_t>(seed);
      e.checkpoint_series = get<bool>(mj, "checkpoint_series", false, path, mw);
      e.reductions = reductions;
      for (const auto& r : get<std::vector<std::string>>(mj, "reductions", {}, path, mw)) e.reductions.push_back(r);
      e.note = get<std::string>(mj, "note", "", path, mw);
      e.reference_accuracy = get<double>(mj, "reference_accuracy", -1.0, path, mw);
      if (mj.contains("reference_accuracy") && !(e.reference_accuracy >= 0.0 && e.reference_accuracy <= 1.0))
        throw Error(path, mw + "reference_accuracy", "must be an accuracy between 0 and 1");
      m.entries.push_back(std::move(e));
    }
  }
  return m;
}

std::string defaultZooManifestPath() {
  const std::string p = io::findResource(kManifestRelative);
  if (p.empty()) throw Error(kManifestRelative, "", "no zoo manifest in any resource folder (set PRISMA_RESOURCES)");
  return p;
}

train::TrainConfig entryConfig(const ZooEntry& entry) {
  train::Overrides o = entry.overrides;
  o["optimization.seed"] = entry.seed;
  o["optimization.data_seed"] = entry.seed;
  nlohmann::json doc = train::loadPresetJson(entry.preset);
  doc["name"] = entry.name;
  train::applyOverrides(doc, o, "zoo entry " + entry.name);
  return train::trainConfigFromJson(doc, "zoo entry " + entry.name);
}

}  // namespace prisma::zoo
