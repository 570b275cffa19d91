#include "model/io/DatasetItemSpec.h"

#include "datasets/DatasetRegistry.h"
#include "model/Error.h"
#include "model/core/Numbers.h"

#include <filesystem>
#include <regex>

namespace prisma::io {

std::optional<DatasetItemSpec> readDatasetItemSpec(const std::string& spec) {
  static const std::regex kDatasetItem("^([A-Za-z0-9_-]+)/(train|test)/([0-9]+)$");
  std::smatch m;
  std::error_code ec;
  if (!std::regex_match(spec, m, kDatasetItem) || std::filesystem::exists(spec, ec)) return std::nullopt;
  DatasetItemSpec in;
  in.dataset = m[1].str();
  in.split = datasets::splitFromString(m[2].str());
  const auto dataset = datasets::makeDataset(in.dataset);
  const auto row = parseInteger(m[3].str());
  const std::size_t size = dataset->size(in.split);
  if (!row || *row < 0 || uint64_t(*row) >= size)
    throw Error(spec, "INDEX", "outside the " + m[2].str() + " split's " + std::to_string(size) + " items");
  in.row = std::size_t(*row);
  in.item = dataset->item(in.split, in.row);
  return in;
}

}  // namespace prisma::io
