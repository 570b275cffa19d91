// ImageNet-1k names from the text compiled in by model/CMakeLists.txt (one name per line).

#include "model/io/ImageNetClasses.h"

#include <sstream>

namespace prisma::io {

namespace detail {
extern const char kImageNetClassesText[];  // generated: resources/imagenet_classes.txt
}

std::vector<std::string> imageNetClassNames() {
  std::vector<std::string> names;
  std::istringstream in(detail::kImageNetClassesText);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) names.push_back(line);
  return names;
}

bool lacksClassNames(const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n != "LABEL_" + std::to_string(i) && n != std::to_string(i) && n != "class_" + std::to_string(i))
      return false;
  }
  return true;
}

}  // namespace prisma::io
