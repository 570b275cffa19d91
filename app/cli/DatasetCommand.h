#pragma once
// `prisma dataset …`: list the datasets, count a split's classes, export items as PNG
// files with a labels.csv. Standard C++ and prisma::datasets only, so it runs headless.

#include <ostream>
#include <string>
#include <vector>

namespace prisma::cli {

// `args` are the words after "dataset". Returns the process exit code: 0 on success,
// 1 when the data is missing or broken, 2 on a usage error (usage printed to `err`).
int runDatasetCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace prisma::cli
