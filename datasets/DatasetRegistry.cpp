// Name → constructor, with the default data locations.

#include "datasets/DatasetRegistry.h"

#include "datasets/CircleDataset.h"
#include "datasets/DSpritesDataset.h"
#include "datasets/DataPaths.h"
#include "datasets/ImageFilesDataset.h"
#include "datasets/ImageFolderDataset.h"
#include "datasets/InductionDataset.h"
#include "datasets/MnistDataset.h"
#include "datasets/PolygenicInductionDataset.h"

#include <filesystem>
#include <stdexcept>

namespace prisma::datasets {
namespace {

constexpr const char* kDSpritesNpzName = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz";

bool isDSprites(const std::string& name) { return name == "dsprites" || name == "dsprites-npz"; }

}  // namespace

std::vector<DatasetInfo> builtinDatasets() {
  return {
      {"induction", "two shapes side by side or stacked, same or different (ViT-Prisma), 4 classes"},
      {"induction-polygenic", "four shapes in six A/B patterns, horizontal or vertical, 12 classes"},
      {"circle", "modular addition on a ring of 60 points, 60 classes"},
      {"dsprites", "procedural dSprites grid (737,280 combinations), any factor as label"},
      {"dsprites-npz", "DeepMind's dSprites .npz, when you have it"},
      {"mnist", "MNIST handwritten digits (IDX files in the data cache)"},
      {"fashion-mnist", "Fashion-MNIST (Debian package dataset-fashion-mnist)"},
      {"folder", "a folder with one sub-folder per class (--path)"},
  };
}

void checkLabelFactor(const std::string& name, const DatasetOptions& options) {
  if (isDSprites(name)) dspritesFactorFromString(options.labelFactor);
}

std::string defaultDSpritesNpzPath() {
  return (std::filesystem::path(dataCacheDir()) / "dsprites" / kDSpritesNpzName).string();
}

std::unique_ptr<Dataset> makeDataset(const std::string& name, const DatasetOptions& options) {
  if (name == "induction") return std::make_unique<InductionDataset>(options.seed);
  if (name == "induction-polygenic") return std::make_unique<PolygenicInductionDataset>(options.seed);
  if (name == "circle") return std::make_unique<CircleDataset>(options.seed);
  if (isDSprites(name)) {
    DSpritesOptions d;
    d.labelFactor = dspritesFactorFromString(options.labelFactor);
    d.subsample = options.subsample;
    d.seed = options.seed;
    if (name == "dsprites-npz") {
      d.npzPath = options.path.empty() ? defaultDSpritesNpzPath() : options.path;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(d.npzPath, ec))
        throw std::runtime_error(d.npzPath + ": no such file. Download " + kDSpritesNpzName +
                                 " from https://github.com/google-deepmind/dsprites-dataset and "
                                 "put it there, or pass its path; `dsprites` generates the same "
                                 "grid without it");
    }
    return std::make_unique<DSpritesDataset>(d);
  }
  if (name == "mnist" || name == "fashion-mnist") {
    const MnistVariant variant = name == "mnist" ? MnistVariant::Digits : MnistVariant::Fashion;
    return std::make_unique<MnistDataset>(
        variant, options.path.empty() ? MnistDataset::defaultDirectory(variant) : options.path);
  }
  if (name == "folder") {
    if (options.path.empty()) throw std::invalid_argument("dataset 'folder' needs a path");
    return std::make_unique<ImageFolderDataset>(options.path);
  }

  std::error_code ec;
  if (std::filesystem::is_directory(name, ec)) return std::make_unique<ImageFolderDataset>(name);
  if (std::filesystem::is_regular_file(name, ec)) {
    auto files = std::make_unique<ImageFilesDataset>(std::vector<std::string>{name});
    if (files->size(Split::Train) == 0) throw std::runtime_error(files->warnings().front());
    return files;
  }

  std::string known;
  for (const auto& info : builtinDatasets()) known += (known.empty() ? "" : ", ") + info.name;
  throw std::invalid_argument("unknown dataset '" + name + "' (known: " + known +
                              ", or a folder or image file)");
}

}  // namespace prisma::datasets
