#pragma once
// MNIST and Fashion-MNIST from their four IDX files (each raw or gzipped), in file order:
// 60,000 training and 10,000 test images of 28×28 grey pixels, 10 classes.

#include "datasets/Dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace prisma::datasets {

enum class MnistVariant { Digits, Fashion };

class MnistDataset : public Dataset {
public:
  static constexpr int kImageSize = 28;
  static constexpr int kClassCount = 10;

  // Reads `directory`/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. Throws
  // std::runtime_error naming the file and the problem; a missing dataset's message says
  // how to install it.
  MnistDataset(MnistVariant variant, const std::string& directory);

  // Folders searched by default, in order: the data cache, then (Fashion-MNIST) the
  // Debian package's folder.
  static std::vector<std::string> searchDirectories(MnistVariant variant);
  // The first of those that holds the dataset, else the first of them.
  static std::string defaultDirectory(MnistVariant variant);
  // How to get the dataset, for messages.
  static std::string installHint(MnistVariant variant);

  std::string name() const override;
  std::size_t size(Split split) const override;
  std::vector<std::string> classNames() const override;
  ImageShape imageShape() const override { return {kImageSize, kImageSize, 1}; }
  Item item(Split split, std::size_t index) const override;
  int label(Split split, std::size_t index) const override;

private:
  struct Part {
    std::vector<std::uint8_t> images;  // n × 28 × 28
    std::vector<std::uint8_t> labels;
  };
  Part readPart(const std::string& directory, const std::string& prefix) const;
  const Part& part(Split split) const { return split == Split::Train ? train_ : test_; }

  MnistVariant variant_;
  Part train_;
  Part test_;
};

}  // namespace prisma::datasets
