#pragma once
// Where the real datasets live: a per-user data cache outside the repository, filled by
// scripts/fetch-data.sh, and the system folder of Debian's dataset packages.

#include <string>

namespace prisma::datasets {

// $PRISMA_DATA_DIR, else ${XDG_CACHE_HOME:-~/.cache}/prisma-explorer/data. Read from the
// environment on every call.
std::string dataCacheDir();

// Debian's dataset-fashion-mnist installs its gzipped IDX files here.
inline constexpr const char* kSystemFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace prisma::datasets
