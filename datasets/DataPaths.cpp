// The data cache location, following the XDG base-directory convention.

#include "datasets/DataPaths.h"

#include <cstdlib>
#include <filesystem>

namespace prisma::datasets {

std::string dataCacheDir() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value ? value : "";
  };
  if (const std::string dir = env("PRISMA_DATA_DIR"); !dir.empty()) return dir;
  std::filesystem::path cache = env("XDG_CACHE_HOME");
  if (cache.empty()) cache = std::filesystem::path(env("HOME")) / ".cache";
  return (cache / "prisma-explorer" / "data").string();
}

}  // namespace prisma::datasets
