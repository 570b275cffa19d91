#pragma once
// Loose image files chosen by the user: no classes, no labels, everything in the train
// split. Unreadable files are skipped and listed in warnings().

#include "datasets/Dataset.h"
#include "datasets/ImageFolderDataset.h"

#include <string>
#include <vector>

namespace prisma::datasets {

class ImageFilesDataset : public Dataset {
public:
  explicit ImageFilesDataset(const std::vector<std::string>& paths,
                             ImageCheck check = ImageCheck::Decode);

  std::string name() const override { return "images"; }
  std::size_t size(Split split) const override;
  std::vector<std::string> classNames() const override { return {}; }
  ImageShape imageShape() const override { return shape_; }
  Item item(Split split, std::size_t index) const override;  // label kNoLabel
  int label(Split split, std::size_t index) const override;
  std::vector<std::string> warnings() const override { return warnings_; }

  const std::string& path(std::size_t index) const;

private:
  std::vector<std::string> paths_;
  std::vector<std::string> warnings_;
  ImageShape shape_;
};

}  // namespace prisma::datasets
