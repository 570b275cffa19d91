// Reading JSON files (see Json.h).

#include "model/core/Json.h"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace prisma {

nlohmann::json readJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path, "", fs::exists(path) ? "cannot open" : "missing");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, "", std::string("is not valid JSON: ") + e.what());
  }
}

std::string jsonString(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace prisma
