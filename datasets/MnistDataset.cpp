// Loads both splits at construction (47 MB for the training images), then serves items
// by copying 784 bytes.

#include "datasets/MnistDataset.h"

#include "datasets/DataPaths.h"
#include "datasets/Idx.h"

#include <filesystem>
#include <stdexcept>

namespace prisma::datasets {
namespace {

constexpr std::size_t kPixelsPerImage =
    static_cast<std::size_t>(MnistDataset::kImageSize) * MnistDataset::kImageSize;

// The raw file if present, else the gzipped one, else "" (missing).
std::string locate(const std::filesystem::path& directory, const std::string& base) {
  for (const char* suffix : {"", ".gz"}) {
    const std::filesystem::path candidate = directory / (base + suffix);
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate.string();
  }
  return {};
}

// The fetcher of the running copy: an install puts it beside the executable (CMakeLists.txt's
// install rules); a build run in place has the source tree's script.
std::string fetchCommand() {
  std::error_code ec;
  const std::filesystem::path installed =
      std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "prisma-fetch-data";
  if (!ec && std::filesystem::is_regular_file(installed, ec)) return installed.string();
  return "scripts/fetch-data.sh";
}

}  // namespace

std::vector<std::string> MnistDataset::searchDirectories(MnistVariant variant) {
  const std::filesystem::path cache = dataCacheDir();
  if (variant == MnistVariant::Digits) return {(cache / "mnist").string()};
  return {(cache / "fashion-mnist").string(), kSystemFashionMnistDir};
}

std::string MnistDataset::defaultDirectory(MnistVariant variant) {
  const std::vector<std::string> dirs = searchDirectories(variant);
  for (const auto& dir : dirs)
    if (!locate(dir, "train-labels-idx1-ubyte").empty()) return dir;
  return dirs.front();
}

std::string MnistDataset::installHint(MnistVariant variant) {
  if (variant == MnistVariant::Digits)
    return "MNIST is not installed: run " + fetchCommand() + ", which puts it into " +
           (std::filesystem::path(dataCacheDir()) / "mnist").string() +
           " (set PRISMA_DATA_DIR to use another data folder)";
  return std::string("Fashion-MNIST is not installed: run `apt install dataset-fashion-mnist` "
                     "(it installs ") +
         kSystemFashionMnistDir + "), or put the IDX files into " +
         (std::filesystem::path(dataCacheDir()) / "fashion-mnist").string();
}

MnistDataset::MnistDataset(MnistVariant variant, const std::string& directory)
    : variant_(variant) {
  train_ = readPart(directory, "train");
  test_ = readPart(directory, "t10k");
}

MnistDataset::Part MnistDataset::readPart(const std::string& directory,
                                          const std::string& prefix) const {
  const std::string imagesBase = prefix + "-images-idx3-ubyte";
  const std::string labelsBase = prefix + "-labels-idx1-ubyte";
  const std::string imagesPath = locate(directory, imagesBase);
  const std::string labelsPath = locate(directory, labelsBase);
  for (const auto& [path, base] : {std::pair{imagesPath, imagesBase}, std::pair{labelsPath, labelsBase}})
    if (path.empty())
      throw std::runtime_error((std::filesystem::path(directory) / base).string() +
                               "[.gz]: no such file. " + installHint(variant_));

  IdxArray images = readIdx(imagesPath, kIdxImagesMagic);
  IdxArray labels = readIdx(labelsPath, kIdxLabelsMagic);
  if (images.dims[1] != static_cast<std::size_t>(kImageSize) ||
      images.dims[2] != static_cast<std::size_t>(kImageSize))
    throw std::runtime_error(imagesPath + ": images are " + std::to_string(images.dims[1]) + "×" +
                             std::to_string(images.dims[2]) + ", expected 28×28");
  if (images.dims[0] != labels.dims[0])
    throw std::runtime_error(labelsPath + ": " + std::to_string(labels.dims[0]) +
                             " labels for " + std::to_string(images.dims[0]) + " images in " +
                             imagesPath);
  for (std::size_t i = 0; i < labels.data.size(); ++i)
    if (labels.data[i] >= kClassCount)
      throw std::runtime_error(labelsPath + ": label " + std::to_string(labels.data[i]) +
                               " of item " + std::to_string(i) + " is not a class 0–9");
  return {std::move(images.data), std::move(labels.data)};
}

std::string MnistDataset::name() const {
  return variant_ == MnistVariant::Digits ? "mnist" : "fashion-mnist";
}

std::size_t MnistDataset::size(Split split) const { return part(split).labels.size(); }

std::vector<std::string> MnistDataset::classNames() const {
  if (variant_ == MnistVariant::Digits) return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
}

int MnistDataset::label(Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  return part(split).labels[index];
}

Item MnistDataset::item(Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  const Part& p = part(split);
  Item out;
  out.height = out.width = kImageSize;
  out.channels = 1;
  const auto begin = p.images.begin() + static_cast<std::ptrdiff_t>(index * kPixelsPerImage);
  out.pixels.assign(begin, begin + static_cast<std::ptrdiff_t>(kPixelsPerImage));
  out.label = p.labels[index];
  return out;
}

}  // namespace prisma::datasets
