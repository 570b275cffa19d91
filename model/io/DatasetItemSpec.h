#pragma once
// A dataset item named NAME/SPLIT/INDEX (induction/test/32), the way the explorer names one,
// so the CLI's input specs and the explorer's image sources read the same names. Free of
// LibTorch and Qt: both sides include it.

#include "datasets/Dataset.h"

#include <cstddef>
#include <optional>
#include <string>

namespace prisma::io {

struct DatasetItemSpec {
  std::string dataset;
  datasets::Split split = datasets::Split::Test;
  std::size_t row = 0;
  datasets::Item item;  // its pixels and label
};

// The item `spec` names, or std::nullopt when it does not have that form or a file of that
// name exists (a file wins, so no existing path changes meaning). An index past the split,
// or one that does not fit, is an Error naming the spec and INDEX.
std::optional<DatasetItemSpec> readDatasetItemSpec(const std::string& spec);

}  // namespace prisma::io
