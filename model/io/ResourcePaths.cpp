#include "model/io/ResourcePaths.h"

#include "model/Error.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace prisma::io {

namespace {

constexpr const char* kResourcesEnv = "PRISMA_RESOURCES";
constexpr const char* kInstalledRelative = "../share/prisma-explorer";
constexpr const char* kModelConfig = "config.json";

fs::path executableDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

std::vector<std::string> miceIn(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root / kMiceFolder, ec))
    // Hidden folders are not mice: `zoo build` stages a mouse in one before swapping it in.
    if (const std::string name = e.path().filename().string();
        name.front() != '.' && e.is_directory(ec) && fs::is_regular_file(e.path() / kModelConfig, ec))
      out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> resourceDirectories() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv(kResourcesEnv); env && *env) candidates.emplace_back(env);
  if (const fs::path exe = executableDir(); !exe.empty()) candidates.push_back(exe / kInstalledRelative);
  if (*PRISMA_SOURCE_RESOURCES_DIR) candidates.emplace_back(PRISMA_SOURCE_RESOURCES_DIR);
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& c : candidates)
    if (fs::is_directory(c, ec)) out.push_back(fs::weakly_canonical(c, ec).string());
  return out;
}

std::string findResource(const std::string& relative) {
  std::error_code ec;
  for (const auto& root : resourceDirectories())
    if (fs::exists(fs::path(root) / relative, ec)) return (fs::path(root) / relative).string();
  return {};
}

bool isMouseName(const std::string& model) { return model.rfind(kMousePrefix, 0) == 0; }

std::string mouseDirectory(const std::string& nameOrModel) {
  const std::string name = isMouseName(nameOrModel) ? nameOrModel.substr(std::string(kMousePrefix).size()) : nameOrModel;
  const std::string shown = std::string(kMousePrefix) + name;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw Error(shown, "", "not a mouse name (expected mouse:NAME, e.g. mouse:induction-2L)");
  std::error_code ec;
  for (const auto& root : resourceDirectories()) {
    const fs::path dir = fs::path(root) / kMiceFolder / name;
    if (fs::is_regular_file(dir / kModelConfig, ec)) return dir.string();
  }
  const auto known = listMice();
  std::string list;
  for (const auto& m : known) list += (list.empty() ? "" : ", ") + m;
  const auto roots = resourceDirectories();
  throw Error(shown, "", "no such mouse in " + (roots.empty() ? std::string("any resource folder (set PRISMA_RESOURCES)") : roots.front() + "/" + kMiceFolder) +
                             " (mice: " + (list.empty() ? "none" : list) + ")");
}

std::vector<std::string> listMice() {
  for (const auto& root : resourceDirectories()) {
    auto mice = miceIn(root);
    if (!mice.empty()) return mice;
  }
  return {};
}

}  // namespace prisma::io
