#pragma once
// A folder of images with one sub-folder per class (torchvision's ImageFolder layout),
// optionally split as root/train/<class>/… and root/test/<class>/… (or val/). Files that
// are not images OpenCV can read are skipped and listed in warnings().

#include "datasets/Dataset.h"

#include <string>
#include <vector>

namespace prisma::datasets {

// How hard to look at each file while scanning: a full decode finds truncated images
// too; the header check is what a folder of many thousand images can afford.
enum class ImageCheck { Decode, Header };

class ImageFolderDataset : public Dataset {
public:
  // Throws std::runtime_error naming the folder when it is missing or has no class
  // sub-folders.
  explicit ImageFolderDataset(const std::string& root, ImageCheck check = ImageCheck::Decode);

  std::string name() const override { return name_; }
  std::size_t size(Split split) const override;
  std::vector<std::string> classNames() const override { return classNames_; }
  // The common geometry when every image shares it (with Decode), else zeros.
  ImageShape imageShape() const override { return shape_; }
  // Decodes the file; throws std::runtime_error naming it if it became unreadable.
  Item item(Split split, std::size_t index) const override;
  int label(Split split, std::size_t index) const override;
  std::vector<std::string> warnings() const override { return warnings_; }

  const std::string& path(Split split, std::size_t index) const;

private:
  struct Entry {
    std::string path;
    int label = kNoLabel;
  };
  const Entry& entry(Split split, std::size_t index) const;

  std::string name_;
  std::vector<std::string> classNames_;
  std::vector<Entry> train_;
  std::vector<Entry> test_;
  std::vector<std::string> warnings_;
  ImageShape shape_;
};

}  // namespace prisma::datasets
