// Keeps the user's order of files; only unreadable ones drop out.

#include "datasets/ImageFilesDataset.h"

#include "datasets/ImageFile.h"

namespace prisma::datasets {

ImageFilesDataset::ImageFilesDataset(const std::vector<std::string>& paths, ImageCheck check) {
  for (const auto& path : paths) {
    std::string problem;
    const auto shape = probeImage(path, check, problem);
    if (!shape) {
      warnings_.push_back(path + ": skipped, " + problem);
      continue;
    }
    mergeShape(shape_, *shape, paths_.empty());
    paths_.push_back(path);
  }
}

std::size_t ImageFilesDataset::size(Split split) const {
  return split == Split::Train ? paths_.size() : 0;
}

const std::string& ImageFilesDataset::path(std::size_t index) const {
  checkIndex(*this, Split::Train, index);
  return paths_[index];
}

int ImageFilesDataset::label(Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  return kNoLabel;
}

Item ImageFilesDataset::item(Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  return readImageItem(paths_[index], kNoLabel);
}

}  // namespace prisma::datasets
